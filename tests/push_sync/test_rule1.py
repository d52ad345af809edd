"""Rule 1, as a property: no body or header set is answered 2xx unless it was read as a push or positively
identified as a non-push. Every real payload (samples and registry fixtures) is mutated at random (fields
deleted or replaced by any JSON value, CloudEvents headers added, dropped or changed) and sent."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.push_sync.detect import parse_payload
from functions.push_sync.model import ParseResult, PayloadError
from tests.push_sync.conftest import EVENTS, Caller, body_of

FIXTURES = Path(__file__).parent / "fixtures"
TRIGGER_SAMPLES = {
    "apig-harbor-base64.json",
    "apig-zot-binary.json",
    "openfaas-harbor.json",
    "openfaas-zot-binary.json",
}

# The only reasons an item may be acknowledged and ignored for: each names a positively identified non-push
# (docs/push-sync.md, "Event types per format").
NON_PUSH = [
    re.compile(p)
    for p in (
        r"event type .* is not a push",
        r"action .* is not a push",
        r"push of a layer or blob \(.*\), not a manifest",
        r"push of .*, not an image manifest or index",
        r"push of a .* package, not a container image",
        r"digest-only push \(no tag\): nothing to sync",
        r"invalid digest ignored \(.*\); the tag is synced without it",
        r"no updated tags",
        r"empty batch: no event in it",
    )
]


def _seeds() -> list[tuple[dict[str, str], Any]]:
    seeds: list[tuple[dict[str, str], Any]] = []
    for path in sorted(EVENTS.glob("*.json")):
        if path.name not in TRIGGER_SAMPLES:
            seeds.append(({"content-type": "application/json"}, json.loads(path.read_text())))
    for path in sorted(FIXTURES.glob("*.json")):
        fixture = json.loads(path.read_text())
        seeds.append(({k.lower(): v for k, v in fixture["headers"].items()}, fixture["body"]))
    return seeds


SEEDS = _seeds()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.sampled_from(["", "v1", "sha256:"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
HEADER_CHANGES = st.sampled_from(
    [
        ("content-type", "application/cloudevents+json"),
        ("content-type", "application/cloudevents-batch+json"),
        ("content-type", "text/plain"),
        ("ce-specversion", "1.0"),
        ("ce-type", "zotregistry.image.updated"),
        ("ce-type", "harbor.artifact.pushed"),
        ("ce-type", "zotregistry.image.deleted"),
        ("ce-type", "com.example.other"),
        ("ce-type", None),
        ("x-gitea-event", "push"),
        ("x-gitea-event", "package"),
        ("ce-specversion", None),
    ]
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from _paths(child, (*prefix, index))


@st.composite
def deliveries(draw: Callable[..., Any]) -> tuple[dict[str, str], bytes]:
    headers, body = draw(st.sampled_from(SEEDS))
    headers, body = dict(headers), copy.deepcopy(body)
    for _ in range(draw(st.integers(0, 3))):
        paths = list(_paths(body))
        if not paths:
            break
        *parent_path, last = draw(st.sampled_from(paths))
        parent = body
        for step in parent_path:
            parent = parent[step]
        if draw(st.booleans()):
            del parent[last]
        else:
            parent[last] = draw(json_values)
    for name, value in draw(st.lists(HEADER_CHANGES, max_size=2)):
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers, json.dumps(body).encode()


def check_acknowledged(result: ParseResult) -> None:
    assert result.events or result.rejected or result.ignored, "a 2xx must say what was read"
    for item in result.ignored:
        assert any(p.fullmatch(item.reason) for p in NON_PUSH), item.reason
        if item.reason.startswith("invalid digest ignored"):
            assert result.events, "an invalid digest is only ignored beside the tag it came with"


@settings(max_examples=1500, deadline=None)
@given(delivery=deliveries())
def test_no_unread_push_is_acknowledged(delivery: tuple[dict[str, str], bytes]) -> None:
    headers, body = delivery
    try:
        result = parse_payload(body, headers)
    except PayloadError as err:
        assert str(err)  # a 400 that names the problem
        return
    check_acknowledged(result)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delivery=deliveries())
def test_no_unread_push_gets_a_2xx_answer(delivery: tuple[dict[str, str], bytes], caller_for: Any) -> None:
    headers, body = delivery
    call: Caller = caller_for(DRY_RUN="true")
    response = call(body, headers)
    assert response.status in (200, 400, 422), response.body
    data = body_of(response)
    if response.status == 400:
        assert data["error"]
        return
    parsed = ParseResult(data["format"])
    assert data["results"] or data["ignored"], data
    for item in data["ignored"]:
        assert any(p.fullmatch(item["reason"]) for p in NON_PUSH), item
    assert all(r["status"] in ("dry_run", "skipped", "rejected") for r in data["results"]), data
    assert parsed.format
