"""Transport edges of the runtimes, for every function: an APIG body flagged ``isBase64Encoded`` is decoded
strictly (not valid base64 → 400, whatever its length modulo 4), and every 405 carries ``Allow``."""

from __future__ import annotations

import base64
import json
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localdev.context import OpenFaaSContext, OpenFaaSEvent
from localdev.emulator import Emulator
from localdev.registry import load
from tests.reliability.support import (
    DST,
    EXPORT_TOKEN,
    MONITOR_TOKEN,
    WEBHOOK_SECRET,
    apig_event,
    digest_of,
    function_env,
    invoke,
    swr_env,
)

RULES = [{"namespace": "demo", "targets": [{"region": DST, "namespace": "demo"}]}]
FUNCTIONS = {
    # function: (its method, credentials header, a valid body)
    "push-sync": ("POST", WEBHOOK_SECRET, {"namespace": "demo", "repository": "team/app", "tags": ["v1"]}),
    "job-monitor": ("POST", f"Bearer {MONITOR_TOKEN}", {"alert": False}),
    "policy-export": ("GET", f"Bearer {EXPORT_TOKEN}", None),
}
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
ALLOWED = {"job-monitor": "GET, HEAD, POST"}  # GET/HEAD: the health page
NOT_BASE64 = [c for c in string.printable if c not in string.ascii_letters + string.digits + "+/="]


@pytest.fixture
def env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    emulator.state.add_image("demo", "team/app", "v1", digest_of("team/app:v1"))
    emulator.state.add_namespace("demo", region=DST)
    function_env(
        monkeypatch,
        **swr_env(
            emulator,
            "token",
            WEBHOOK_SECRET=WEBHOOK_SECRET,
            SYNC_RULES=json.dumps(RULES),
            EXPORT_TOKEN=EXPORT_TOKEN,
            MONITOR_TOKEN=MONITOR_TOKEN,
            MONITOR_REPOS="demo/team/app",
        ),
    )
    yield emulator


def apig(function: str, body_field: str, method: str | None = None) -> Any:
    own, credentials, _ = FUNCTIONS[function]
    event = apig_event(method or own, f"/{function}", {"Authorization": credentials}, {"namespace": "demo"})
    event["body"] = body_field
    return invoke(function, event)


def openfaas(function: str, method: str) -> dict[str, Any]:
    _, credentials, _ = FUNCTIONS[function]
    event = OpenFaaSEvent(b"", {"Authorization": credentials}, method, {"namespace": "demo"}, f"/{function}")
    result: dict[str, Any] = load(function).handle(event, OpenFaaSContext())
    return result


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_405_carries_allow(env: Emulator, function: str) -> None:
    allowed = ALLOWED.get(function, FUNCTIONS[function][0])
    for method in METHODS:
        fg = apig(function, "", method)
        of = openfaas(function, method)
        for status, headers in ((fg.status, fg.headers), (of["statusCode"], of["headers"])):
            if method in allowed.split(", "):
                assert status != 405, (function, method)
            else:
                assert status == 405, (function, method, status)
                assert headers.get("Allow") == allowed, (function, method, headers)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
@pytest.mark.parametrize("remainder", [0, 1, 2, 3])
def test_non_base64_body_is_400_whatever_its_length(env: Emulator, function: str, remainder: int) -> None:
    junk = "not base64!"[: 8 + remainder]  # lengths 8..11: every class modulo 4
    assert len(junk) % 4 == remainder
    out = apig(function, junk)
    assert out.status == 400 and out.data["error"] == "body flagged isBase64Encoded is not valid base64", (
        out.body
    )


@st.composite
def corrupted(draw: Any) -> str:
    """A base64 string made invalid: a character outside the alphabet, cut short, or padded wrongly."""
    good = base64.b64encode(draw(st.binary(min_size=1, max_size=60))).decode()
    how = draw(st.sampled_from(["insert", "cut", "pad"]))
    if how == "insert":
        at = draw(st.integers(0, len(good)))
        return good[:at] + draw(st.sampled_from(NOT_BASE64)) + good[at:]
    if how == "cut":
        return good[: -draw(st.integers(1, 3))]
    return good + "=" * draw(st.integers(1, 3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=corrupted(), function=st.sampled_from(sorted(FUNCTIONS)))
def test_corrupted_base64_is_always_400(env: Emulator, body: str, function: str) -> None:
    out = apig(function, body)
    assert out.status == 400, (body, out.body)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tag=st.from_regex(r"v[0-9]{1,3}(\.[0-9]{1,2}){0,2}", fullmatch=True))
def test_valid_base64_body_reaches_the_function_intact(env: Emulator, tag: str) -> None:
    env.state.add_image("demo", "team/app", tag, digest_of(f"team/app:{tag}"))
    payload = {"namespace": "demo", "repository": "team/app", "tags": [tag]}
    out = apig("push-sync", base64.b64encode(json.dumps(payload).encode()).decode())
    assert out.status == 200, out.body
    assert [r["tag"] for r in out.data["results"]] == [tag]
