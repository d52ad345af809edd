"""Property tests: no input ever yields a 5xx, a traceback, or (for junk) an SWR call."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.push_sync.detect import parse_payload
from functions.push_sync.model import PayloadError
from shared.logs import logs
from tests.push_sync.conftest import Caller, make_settings, sync_calls

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

KEYS = [
    "type", "event_type", "event_data", "data", "data_base64", "resources", "repository", "repo_full_name",
    "namespace", "name", "tag", "tags", "digest", "resource_url", "events", "action", "target", "mediaType",
    "specversion", "push_data", "repo_name", "pushed_at", "updated_tags",
]  # fmt: skip
VALUES = [
    "PUSH_ARTIFACT", "harbor.artifact.pushed", "push", "pull", "1.0", "demo", "team/app", "demo/team/app",
    "application/vnd.oci.image.manifest.v1+json", "sha256:" + "0" * 64, "v1", "", "Bad Name", "a//b",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(VALUES)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=40,
)


class Checked:
    """A caller whose logs are captured, so each example can assert there was no traceback."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.stream = io.StringIO()
        logs.configure("DEBUG", self.stream)

    def __call__(self, body: bytes, **kw: Any) -> int:
        self.stream.seek(0)
        self.stream.truncate()
        response = self.caller(body, **kw)
        text = self.stream.getvalue()
        assert "Traceback" not in text and "unhandled error" not in text, text[-2000:]
        assert response.status < 500, response.body
        body_text = response.body if isinstance(response.body, str) else response.body.decode()
        assert "Traceback" not in body_text
        json.loads(body_text)
        return response.status


@pytest.fixture
def checked(emulator: Any) -> Iterator[Checked]:
    # Rules for the seeded namespace only; the emulator holds nothing, so any call would be visible.
    yield Checked(Caller(make_settings(SWR_ENDPOINT=emulator.url, LOG_LEVEL="DEBUG")))


@FUZZ
@given(json_values)
def test_arbitrary_json_never_5xx_nor_calls(checked: Checked, emulator: Any, value: Any) -> None:
    status = checked(json.dumps(value).encode())
    assert status in (200, 400, 422)
    assert sync_calls(emulator) == []


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_5xx_nor_calls(checked: Checked, emulator: Any, raw: bytes) -> None:
    assert checked(raw) in (200, 400, 413, 422)
    assert sync_calls(emulator) == []


@FUZZ
@given(
    st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=6),
    st.sampled_from(["POST", "GET", "PUT"]),
    st.dictionaries(st.text(max_size=10), st.lists(st.text(max_size=10), max_size=3), max_size=3),
    st.binary(max_size=300),
)
def test_arbitrary_headers_query_method(
    checked: Checked,
    emulator: Any,
    headers: dict[str, str],
    method: str,
    query: dict[str, list[str]],
    raw: bytes,
) -> None:
    assert checked(raw, headers=headers, method=method, query=query, auth=False) in (400, 401, 405)
    assert sync_calls(emulator) == []


@FUZZ
@given(
    st.sampled_from(["harbor", "distribution", "generic", "dockerhub", "quay", "eventgrid"]),
    st.text(max_size=20) | st.sampled_from(VALUES),
    st.text(max_size=40) | st.sampled_from(VALUES),
    st.text(max_size=20) | st.sampled_from(VALUES),
)
def test_structured_payloads_with_arbitrary_fields(
    checked: Checked, kind: str, ns: str, repo: str, tag: str
) -> None:
    full = f"{ns}/{repo}"
    bodies: dict[str, Any] = {
        "harbor": {
            "type": "PUSH_ARTIFACT",
            "event_data": {
                "resources": [{"tag": tag, "digest": tag}],
                "repository": {"repo_full_name": full},
            },
        },
        "distribution": {
            "events": [
                {
                    "action": "push",
                    "target": {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "repository": full,
                        "tag": tag,
                    },
                }
            ]
        },
        "generic": {"namespace": ns, "repository": repo, "tags": [tag]},
        "dockerhub": {"push_data": {"tag": tag}, "repository": {"repo_name": full}},
        "quay": {"repository": full, "updated_tags": [tag]},
        "eventgrid": {
            "events": [
                {
                    "specversion": "1.0",
                    "id": "1",
                    "source": "s",
                    "type": "t",
                    "data": {"namespace": ns, "repository": repo, "tags": [tag]},
                }
            ]
        },
    }
    body = bodies[kind]
    # Valid names reach SWR, where the (empty) emulator answers 404: 422. Nothing is ever a 5xx.
    assert checked(json.dumps(body).encode()) in (200, 400, 422)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["headers", "body", "isBase64Encoded", "queryStringParameters", "path"]),
        json_values,
        max_size=5,
    ),
    st.binary(max_size=200),
)
def test_functiongraph_apig_events(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any], raw: bytes
) -> None:
    from functions.push_sync.index import APP, handler
    from localdev.context import FunctionGraphContext

    APP._settings = make_settings(SWR_ENDPOINT=emulator.url)
    event: dict[str, Any] = {
        "httpMethod": "POST",
        "body": base64.b64encode(raw).decode(),
        "isBase64Encoded": True,
    }
    event.update(extra)
    try:
        result = handler(event, FunctionGraphContext("push-sync"))
    finally:
        APP.reset()
    assert result["statusCode"] < 500
    assert sync_calls(emulator) == []


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parser_raises_only_payload_errors(value: Any) -> None:
    try:
        result = parse_payload(json.dumps(value).encode())
    except PayloadError as err:
        assert str(err)
        return
    for event in result.events:
        assert event.namespace and event.repository and event.tag
