"""Any JSON, from anywhere: whatever a server, a caller or a store sends (deeply nested, huge, with odd numbers,
not UTF-8), the result is a value or the right typed error: a TransportError/ApiError for a server (502), a
400 for a caller, "no result" for a store, never a RecursionError, a 500 or a traceback. A permanent 4xx from
SWR stays permanent whatever its body holds."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from functions.job_monitor.sinks import _platform_error
from functions.job_monitor.trigger import BadRequest, parse_overrides
from functions.policy_export.paging import Cursor, CursorError
from functions.push_sync.idempotency import RedisStore
from shared.runtime.model import Invocation, Request
from shared.swr import wirejson
from shared.swr.auth import IamPasswordAuth, TokenAuth, clear_token_cache
from shared.swr.client import SwrClient
from shared.swr.errors import ApiError, TransportError
from shared.swr.http import Deadline, RetryPolicy, UrllibTransport
from shared.swr.models import parse_error_body

TOKEN = "any-json-token-0123456789abcdef"


def _nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


ODD_BODIES: dict[str, bytes] = {
    "nested_list_100k": _nested(100_000).encode(),
    "nested_object_100k": ('{"a":' * 100_000 + "1" + "}" * 100_000).encode(),
    "unclosed_100k": b"[" * 100_000,
    "nan": b'[{"id": NaN}]',
    "infinity": b'{"expires": -Infinity}',
    "huge_exponent": b'[{"id": 1e999}]',
    "huge_integer": b"[" + b"9" * 100_000 + b"]",
    "invalid_utf8": b'[{"name": "\xff\xfe"}]',
    "lone_surrogate_escape": b'[{"name": "\\ud800"}]',
    "bom_then_garbage": b"\xef\xbb\xbf[1,",
    "empty_item": b"[1,,2]",
    "trailing": b"[] []",
}


def _value_or_json_error(data: str | bytes) -> None:
    with contextlib.suppress(wirejson.JsonError):
        wirejson.loads(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(json_values, st.integers(min_value=0, max_value=100_000), st.sampled_from(["[]", "{}"]))
def test_any_generated_json_nested_up_to_100k_is_a_value_or_a_json_error(
    value: Any, depth: int, brackets: str
) -> None:
    inner = json.dumps(value)
    text = "[" * depth + inner + "]" * depth if brackets == "[]" else '{"k":' * depth + inner + "}" * depth
    try:
        decoded = wirejson.loads(text)
    except wirejson.JsonError as err:
        assert "nested too deeply" in str(err)
    else:
        for _ in range(depth):
            decoded = decoded[0] if brackets == "[]" else decoded["k"]
        assert decoded == value


@settings(max_examples=300)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_are_a_value_or_a_json_error(data: bytes) -> None:
    _value_or_json_error(data)
    with contextlib.suppress(wirejson.JsonError):
        wirejson.loads_list(data, 3)


@pytest.mark.parametrize("name", sorted(ODD_BODIES))
def test_odd_bodies_are_json_errors(name: str) -> None:
    if name == "lone_surrogate_escape":
        assert wirejson.loads(ODD_BODIES[name]) == [{"name": "\ud800"}]  # valid JSON: it is a value
        return
    with pytest.raises(wirejson.JsonError):
        wirejson.loads(ODD_BODIES[name])
    with pytest.raises(wirejson.JsonError):
        wirejson.loads_list(ODD_BODIES[name], 50)


def _client(httpserver: HTTPServer) -> SwrClient:
    return SwrClient(
        httpserver.url_for("/"), TokenAuth(TOKEN), policy=RetryPolicy(max_attempts=1), deadline=Deadline(10)
    )


@pytest.mark.parametrize("name", sorted(set(ODD_BODIES) - {"lone_surrogate_escape"}))
def test_a_server_answer_of_odd_json_is_a_transport_error(httpserver: HTTPServer, name: str) -> None:
    httpserver.expect_request("/v2/manage/repos").respond_with_data(ODD_BODIES[name], 200)
    httpserver.expect_request("/v2/manage/regions").respond_with_data(ODD_BODIES[name], 200)
    client = _client(httpserver)
    with pytest.raises(TransportError, match="not JSON"):
        client.list_repos("demo", 50)
    with pytest.raises(TransportError, match="not JSON"):
        client.list_regions()


@pytest.mark.parametrize("name", sorted(ODD_BODIES))
@pytest.mark.parametrize(("status", "retryable"), [(400, False), (403, False), (404, False), (500, True)])
def test_an_error_body_of_odd_json_keeps_the_status_and_its_kind(
    httpserver: HTTPServer, name: str, status: int, retryable: bool
) -> None:
    httpserver.expect_request("/v2/manage/regions").respond_with_data(ODD_BODIES[name], status)
    with pytest.raises(ApiError) as info:
        _client(httpserver).list_regions()
    assert info.value.status == status
    assert info.value.retryable is retryable  # a permanent 4xx is never reported transient
    assert len(str(info.value)) < 1_000


@pytest.mark.parametrize("name", sorted(ODD_BODIES))
def test_parse_error_body_never_raises(name: str) -> None:
    info = parse_error_body(ODD_BODIES[name])
    assert len(info.message) <= 300


@pytest.mark.parametrize("name", sorted(ODD_BODIES))
def test_an_iam_token_body_of_odd_json_still_gives_the_token(httpserver: HTTPServer, name: str) -> None:
    clear_token_cache()
    httpserver.expect_request("/v3/auth/tokens").respond_with_data(
        ODD_BODIES[name], 201, headers={"X-Subject-Token": "iam-token-from-odd-body-0123"}
    )
    auth = IamPasswordAuth(httpserver.url_for("/"), "u", "password-0123", "d", "p", UrllibTransport())
    assert auth.token(Deadline(10)) == "iam-token-from-odd-body-0123"
    clear_token_cache()


@pytest.mark.parametrize("name", sorted(ODD_BODIES))
def test_a_chat_platform_answer_of_odd_json_is_read_as_no_error(name: str) -> None:
    assert _platform_error("dingtalk", ODD_BODIES[name]) == ""


class _FakeRedis:
    """Only what RedisStore.claim reads: a GET that returns a hostile stored value."""

    def __init__(self, value: bytes) -> None:
        self.value = value

    def register_script(self, _script: str) -> object:
        return lambda **_kw: 1

    def get(self, _key: str) -> bytes:
        return self.value

    def set(self, *_args: Any, **_kw: Any) -> bool:
        return True


@pytest.mark.parametrize("name", sorted(ODD_BODIES))
def test_a_redis_value_of_odd_json_is_no_result(name: str) -> None:
    store = RedisStore("redis://unused", client=_FakeRedis(ODD_BODIES[name]))
    assert store.claim("k", 1000, "sha256:" + "0" * 64).state == "acquired"


@pytest.mark.parametrize("name", sorted(ODD_BODIES))
def test_a_manual_monitor_call_with_odd_json_is_a_400(name: str) -> None:
    invocation = Invocation("functiongraph", "http", Request(body=ODD_BODIES[name]), "r", "job-monitor")
    try:
        parse_overrides(invocation, logging.getLogger("t"))
    except BadRequest as err:
        assert err.status == 400


@pytest.mark.parametrize("name", sorted(ODD_BODIES))
def test_a_timer_user_event_of_odd_json_is_ignored_or_refused(name: str) -> None:
    raw = ODD_BODIES[name].decode("utf-8", "surrogateescape")
    event = {"user_event": raw, "type": "Timer"}
    invocation = Invocation("functiongraph", "timer", Request(), "r", "job-monitor", event=event)
    try:
        overrides, _warnings = parse_overrides(invocation, logging.getLogger("t"))
    except BadRequest as err:
        assert err.status == 400
    else:
        assert overrides.dry_run is None or isinstance(overrides.dry_run, bool)


@pytest.mark.parametrize("name", sorted(ODD_BODIES))
def test_a_cursor_of_odd_json_is_a_cursor_error(name: str) -> None:
    import base64

    text = base64.urlsafe_b64encode(ODD_BODIES[name]).decode().rstrip("=")
    with pytest.raises(CursorError):
        Cursor.decode(text, "fingerprint")
