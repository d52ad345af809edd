"""Runtime adapters (FunctionGraph events and APIG answers, OpenFaaS python3-http) and the FunctionApp wrapper."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from werkzeug.datastructures import Headers, ImmutableMultiDict

from shared.runtime import functiongraph, openfaas
from shared.runtime.app import FunctionApp
from shared.runtime.config import SwrSettings
from shared.runtime.model import Invocation, Request, Response
from shared.swr.errors import ConfigError

from .conftest import LogCapture

# -- FunctionGraph -------------------------------------------------------------------------------------------------------


class FgContext:
    """The FunctionGraph context methods the adapter uses (runtimes.md 1.2)."""

    def __init__(
        self, request_id: str = "fg-req-1", remaining: int = 30_000, name: str = "push-sync"
    ) -> None:
        self._request_id, self._remaining, self._name = request_id, remaining, name

    def getRequestID(self) -> str:
        return self._request_id

    def getRemainingTimeInMilliSeconds(self) -> int:
        return self._remaining

    def getFunctionName(self) -> str:
        return self._name

    def getUserData(self, key: str) -> str | None:
        return None


def apig_event(
    body: bytes = b'{"name": "T Cloud Public"}', base64_encoded: bool = True, **extra: Any
) -> dict[str, Any]:
    event = {
        "body": base64.b64encode(body).decode() if base64_encoded else body.decode(),
        "requestContext": {
            "apiId": "bc1d",
            "requestId": "11cdcdcf33949dc6d722640a13091c77",
            "stage": "RELEASE",
        },
        "queryStringParameters": {"responseType": "html", "tag": ["a", "b"]},
        "httpMethod": "post",
        "pathParameters": {},
        "headers": {
            "Content-Type": "application/json",
            "X-Correlation-Id": "corr-apig-1",
            "x-forwarded-for": "103.218.216.98",
            "user-agent": "Mozilla/5.0",
        },
        "path": "/hooks/harbor",
        "isBase64Encoded": base64_encoded,
    }
    event.update(extra)
    return event


def test_apig_event_base64_body_and_lowercased_headers() -> None:
    inv = functiongraph.to_invocation(apig_event(), FgContext(), "fallback")
    assert inv.platform == "functiongraph" and inv.trigger == "http"
    req = inv.request
    assert req.method == "POST" and req.path == "/hooks/harbor"
    assert req.body == b'{"name": "T Cloud Public"}'
    assert req.headers["content-type"] == "application/json"
    assert all(k == k.lower() for k in req.headers)
    assert req.header("X-Correlation-Id") == "corr-apig-1"
    assert req.query == {"responseType": ["html"], "tag": ["a", "b"]}
    assert req.query_one("tag") == "b" and req.query_all("tag") == ["a", "b"]
    assert (inv.request_id, inv.function_name, inv.remaining_ms()) == ("fg-req-1", "push-sync", 30000.0)
    assert inv.event is not None and inv.context is not None


def test_apig_plain_body_and_request_id_from_request_context() -> None:
    inv = functiongraph.to_invocation(apig_event(b"hello", base64_encoded=False), object(), "fallback")
    assert inv.request.body == b"hello"
    assert inv.request_id == "11cdcdcf33949dc6d722640a13091c77"
    assert inv.function_name == "fallback" and inv.remaining_ms() is None


@pytest.mark.parametrize(
    ("patch", "body"),
    [
        ({"body": "", "isBase64Encoded": True}, b""),
        ({"body": None}, b""),
        ({"body": {"already": "json"}, "isBase64Encoded": False}, b'{"already": "json"}'),
    ],
)
def test_apig_body_variants(patch: dict[str, Any], body: bytes) -> None:
    event = apig_event()
    event.update(patch)
    assert functiongraph.to_invocation(event, None, "f").request.body == body


@pytest.mark.parametrize(
    "text", ["!!!not base64!!!", "aGVsbG8", "aGVsbG8=x", "aGVs bG8=", "aGVsbG8==", "AAAA=", "AA=A", "é", 5]
)
def test_apig_base64_body_is_decoded_strictly(text: Any) -> None:
    # Was decoded leniently, falling back to the raw text: whether junk became 400 or other bytes depended on its
    # length modulo 4. Now the request carries no body and a body_error (FunctionApp answers 400).
    request = functiongraph.to_invocation(
        apig_event() | {"body": text, "isBase64Encoded": True}, None, "f"
    ).request
    assert request.body == b"" and "isBase64Encoded" in request.body_error


def test_apig_odd_fields_do_not_crash() -> None:
    event = apig_event(queryStringParameters=["not", "a", "dict"], headers=None, httpMethod=None, path=None)
    req = functiongraph.to_invocation(event, None, "f").request
    assert req.query == {} and req.headers == {} and req.path == "/"


def test_apig_response_shape_exact() -> None:
    resp = Response.json(201, {"accepted": ["v1"]}, headers={"X-Extra": "1"})
    out = functiongraph.from_response(resp, "http")
    assert out == {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json", "X-Extra": "1"},
        "body": '{"accepted":["v1"]}',
        "isBase64Encoded": False,
    }
    assert isinstance(out["body"], str)


def test_apig_response_bytes_and_binary() -> None:
    out = functiongraph.from_response(Response(200, b"text \xc3\xa9"), "http")
    assert out["body"] == "text é" and out["isBase64Encoded"] is False
    out = functiongraph.from_response(Response(200, b"\xff\x00\xfe"), "http")
    assert out["isBase64Encoded"] is True and base64.b64decode(out["body"]) == b"\xff\x00\xfe"
    out = functiongraph.from_response(Response(200, [1, 2]), "http")  # type: ignore[arg-type]
    assert out["body"] == "[1,2]"


TIMER = {
    "version": "v1.0",
    "time": "2023-06-01T08:30:00+08:00",
    "trigger_type": "TIMER",
    "trigger_name": "Timer_001",
    "user_event": '{"message": "timer triggered event", "topic":"test"}',
}
SMN = {
    "record": [
        {
            "event_version": "1.0",
            "smn": {
                "topic_urn": "topicUrn",
                "message": "this is smn message content",
                "type": "notification",
                "message_id": "a516",
                "subject": "subj",
                "timestamp": "2018-01-09T07:11:40Z",
                "message_attributes": None,
            },
            "event_subscription_urn": "functionUrn",
            "event_source": "smn",
        }
    ],
    "functionname": "test",
    "requestId": "7c307f6a",
    "timestamp": "Tue Jan 09 2018 15:11:40 GMT+0800 (CST)",
}
CLOUD_EVENT = {
    "id": "4b26115b",
    "specversion": "1.0",
    "source": "HC.SWR",
    "type": "SWR:CloudTrace:ApiCall",
    "datacontenttype": "application/json",
    "subject": "x",
    "time": "2022-01-17T12:07:48.955Z",
    "data": {"name": "test01"},
}


@pytest.mark.parametrize(
    ("event", "trigger"),
    [
        (TIMER, "timer"),
        ({**TIMER, "trigger_type": "timer"}, "timer"),
        (SMN, "smn"),
        (CLOUD_EVENT, "event"),
        ({"events": [CLOUD_EVENT, CLOUD_EVENT]}, "event"),
        ({"namespace": "ns1", "repository": "app", "tags": ["v1"]}, "direct"),
        ({}, "direct"),
        ({"events": []}, "direct"),
        ({"record": []}, "direct"),
        ([1, 2], "direct"),
        ("text", "direct"),
        (None, "direct"),
    ],
)
def test_trigger_detection_and_json_request(event: Any, trigger: str) -> None:
    inv = functiongraph.to_invocation(event, FgContext(), "f")
    assert inv.trigger == trigger
    assert inv.request.method == "POST"
    assert inv.request.header("content-type") == "application/json"
    assert inv.request.header("x-swr-sync-trigger") == trigger
    assert json.loads(inv.request.body) == event


def test_timer_user_event_stays_a_string() -> None:
    inv = functiongraph.to_invocation(TIMER, FgContext(), "f")
    assert json.loads(inv.request.body)["user_event"] == TIMER["user_event"]


def test_non_http_answers_are_the_json_value_with_the_status() -> None:
    assert functiongraph.from_response(Response.json(200, {"synced": 3}), "timer") == {
        "synced": 3,
        "statusCode": 200,
    }
    assert functiongraph.from_response(Response.json(207, [1]), "direct") == {"statusCode": 207, "body": [1]}
    assert functiongraph.from_response(Response(500, b"oops"), "event") == {"statusCode": 500, "body": "oops"}


def test_broken_context_accessors_do_not_break_the_invocation() -> None:
    class Broken:
        def getRequestID(self) -> str:
            raise RuntimeError("x")

        def getRemainingTimeInMilliSeconds(self) -> str:
            return "soon"

    inv = functiongraph.to_invocation({}, Broken(), "f")
    assert len(inv.request_id) == 36 and inv.remaining_ms() is None


# -- OpenFaaS ------------------------------------------------------------------------------------------------------------


class OfEvent:
    """python3-http's Event: body bytes, werkzeug headers, MultiDict query (runtimes.md 4.1)."""

    def __init__(
        self,
        body: bytes = b"",
        headers: Headers | None = None,
        method: str = "POST",
        query: ImmutableMultiDict[str, str] | None = None,
        path: str = "/",
    ) -> None:
        self.body = body
        self.headers = headers if headers is not None else Headers()
        self.method = method
        self.query = query if query is not None else ImmutableMultiDict()
        self.path = path


class OfContext:
    hostname = "push-sync-7d9f"


def test_openfaas_event(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("exec_timeout", raising=False)
    monkeypatch.delenv("EXEC_TIMEOUT", raising=False)
    headers = Headers(
        [("Content-Type", "application/json"), ("X-Dup", "a"), ("x-dup", "b"), ("X-Call-Id", "call-7")]
    )
    query = ImmutableMultiDict([("tag", "v1"), ("tag", "v2"), ("ns", "ns1")])
    inv = openfaas.to_invocation(
        OfEvent(b'{"a":1}', headers, "put", query, "/sync"), OfContext(), "push-sync"
    )
    req = inv.request
    assert (inv.platform, inv.trigger, req.method, req.path, req.body) == (
        "openfaas",
        "http",
        "PUT",
        "/sync",
        b'{"a":1}',
    )
    assert req.header_counts["x-dup"] == 2 and req.header_counts["content-type"] == 1
    assert req.headers["x-dup"] == "a,b"
    assert req.query == {"tag": ["v1", "v2"], "ns": ["ns1"]}
    assert inv.request_id == "call-7"
    assert inv.remaining_ms() is None
    assert inv.context.hostname == "push-sync-7d9f"


def test_openfaas_plain_mappings_and_str_body() -> None:
    class Plain:
        body = "text"
        headers = {"X-Connector": "cron-connector", "X-Topic": "cron-function"}
        method = "POST"
        query = {"a": "1", "b": ["2", "3"]}
        path = ""

    inv = openfaas.to_invocation(Plain(), None, "f")
    assert inv.trigger == "timer"  # cron-connector
    assert inv.request.body == b"text" and inv.request.path == "/"
    assert inv.request.query == {"a": ["1"], "b": ["2", "3"]}
    assert len(inv.request_id) == 36


def test_openfaas_cron_connector_empty_post() -> None:
    inv = openfaas.to_invocation(OfEvent(b"", Headers({"X-Connector": "cron-connector"})), None, "f")
    assert inv.trigger == "timer" and inv.request.body == b""


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("10", 10.0),
        ("1.5", 1.5),
        ("90s", 90.0),
        ("5m", 300.0),
        ("1m30s", 90.0),
        ("2h", 7200.0),
        ("500ms", 0.5),
        ("1h0m0s", 3600.0),
        (" 20s ", 20.0),
        ("", None),
        (None, None),
        ("abc", None),
        ("5x", None),
        ("5m garbage", None),
        ("-5s", None),
    ],
)
def test_parse_duration(value: str | None, seconds: float | None) -> None:
    assert openfaas.parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "budget_ms"), [("5m", 300_000), ("45s", 45_000), ("0", None), ("0s", None), ("junk", None)]
)
def test_exec_timeout_sets_the_budget(
    monkeypatch: pytest.MonkeyPatch, value: str, budget_ms: float | None
) -> None:
    monkeypatch.setenv("exec_timeout", value)
    remaining = openfaas.to_invocation(OfEvent(), None, "f").remaining_ms()
    if budget_ms is None:
        assert remaining is None  # the watchdog reads 0 as "no timeout"
    else:
        assert remaining is not None and budget_ms - 1000 < remaining <= budget_ms


def test_openfaas_response_is_never_a_list_body() -> None:
    for resp in (Response.json(200, [1, 2, 3]), Response(200, [1, 2, 3]), Response(200, b"[1,2,3]")):  # type: ignore[arg-type]
        out = openfaas.from_response(resp)
        assert out["body"] == "[1,2,3]" and isinstance(out["body"], str)
        assert set(out) == {"statusCode", "body", "headers"}
    out = openfaas.from_response(Response.json(404, {"error": "nope"}))
    assert out == {
        "statusCode": 404,
        "body": '{"error":"nope"}',
        "headers": {"Content-Type": "application/json"},
    }


# -- FunctionApp ---------------------------------------------------------------------------------------------------------

ENV = [
    "SWR_REGION",
    "SWR_ENDPOINT",
    "SWR_AUTH_TOKEN",
    "SWR_AUTH_MODE",
    "LOG_LEVEL",
    "HTTP_TIMEOUT",
    "IAM_USERNAME",
    "CLOUD_SDK_AK",
    "CLOUD_SDK_SK",
    "exec_timeout",
]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name + "_FILE", raising=False)
    monkeypatch.setenv("OPENFAAS_SECRETS_DIR", "/nonexistent-secrets-dir")
    monkeypatch.setenv("SWR_REGION", "cn-north-4")
    return monkeypatch


def _ok(settings: SwrSettings, inv: Invocation) -> Response:
    return Response.json(
        200,
        {
            "cold": inv.cold_start,
            "corr": inv.correlation_id,
            "region": settings.swr_region,
            "rid": inv.request_id,
            "remaining": inv.remaining_ms(),
        },
    )


def test_cold_start_only_on_the_first_invocation(env: pytest.MonkeyPatch, captured_logs: LogCapture) -> None:
    app = FunctionApp("push_sync", SwrSettings, _ok)
    first = json.loads(app.functiongraph_handler(apig_event(), FgContext("r1"))["body"])
    second = json.loads(app.functiongraph_handler(apig_event(), FgContext("r2"))["body"])
    third = app.openfaas_handle(OfEvent(), OfContext())
    assert (first["cold"], second["cold"], json.loads(third["body"])["cold"]) == (True, False, False)
    assert first["region"] == "cn-north-4" and first["rid"] == "r1" and first["remaining"] == 30000.0
    app.reset()
    assert app.functiongraph_handler(TIMER, FgContext())["cold"] is True


def test_settings_loaded_once_per_warm_instance(env: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    app = FunctionApp("f", SwrSettings, lambda s, inv: seen.append(id(s)) or Response.json(200, {}))
    app.functiongraph_handler({}, FgContext())
    env.setenv("SWR_REGION", "ap-southeast-1")
    app.functiongraph_handler({}, FgContext())
    assert len(set(seen)) == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Correlation-Id": "corr-1", "X-Request-Id": "rid-9"}, "corr-1"),
        ({"X-Request-Id": "rid-9"}, "rid-9"),
        ({"x-cff-request-id": "cff-3"}, "cff-3"),
        ({}, "fg-req-1"),
        ({"X-Correlation-Id": "evil\r\nSet-Cookie: a=b"}, "fg-req-1"),  # never echoed into a header
        ({"X-Correlation-Id": "x" * 500, "X-Request-Id": "rid-ok"}, "rid-ok"),
    ],
)
def test_correlation_id(env: pytest.MonkeyPatch, headers: dict[str, str], expected: str) -> None:
    app = FunctionApp("f", SwrSettings, _ok)
    out = app.functiongraph_handler(apig_event(headers=headers), FgContext())
    assert json.loads(out["body"])["corr"] == expected
    assert out["headers"]["X-Correlation-Id"] == expected


def test_openfaas_correlation_from_call_id(env: pytest.MonkeyPatch) -> None:
    app = FunctionApp("f", SwrSettings, _ok)
    out = app.openfaas_handle(OfEvent(headers=Headers({"X-Call-Id": "call-42"})), OfContext())
    assert json.loads(out["body"])["corr"] == "call-42" and out["headers"]["X-Correlation-Id"] == "call-42"


def test_config_error_is_a_500_listing_problems(env: pytest.MonkeyPatch, captured_logs: LogCapture) -> None:
    env.delenv("SWR_REGION")
    env.setenv("SWR_AUTH_MODE", "token")
    env.setenv("HTTP_TIMEOUT", "-3")
    called: list[bool] = []
    app = FunctionApp("f", SwrSettings, lambda s, inv: called.append(True) or Response.json(200, {}))
    out = app.functiongraph_handler(apig_event(), FgContext())
    assert out["statusCode"] == 500 and isinstance(out["body"], str)
    body = json.loads(out["body"])
    assert body["error"] == "configuration invalid"
    assert body["correlation_id"] == "corr-apig-1"
    assert body["problems"] == [
        "HTTP_TIMEOUT: Input should be greater than 0",
        "SWR_REGION: required (or set SWR_ENDPOINT)",
        "SWR_AUTH_TOKEN: required when SWR_AUTH_MODE=token",
    ]
    assert "Traceback" not in out["body"] and not called
    errors = [line for line in captured_logs.lines() if line["level"] == "error"]
    assert len(errors) == 1 and errors[0]["problems"] == body["problems"]
    assert "exception" not in errors[0]


def test_config_error_raised_by_the_handler(env: pytest.MonkeyPatch) -> None:
    def handle(s: SwrSettings, inv: Invocation) -> Response:
        raise ConfigError(["SWR_AUTH_TOKEN: no credentials"])

    out = FunctionApp("f", SwrSettings, handle).openfaas_handle(OfEvent(), OfContext())
    assert out["statusCode"] == 500 and json.loads(out["body"])["problems"] == [
        "SWR_AUTH_TOKEN: no credentials"
    ]


def test_unhandled_exception_is_a_clean_500_and_one_error_line(
    env: pytest.MonkeyPatch, captured_logs: LogCapture
) -> None:
    def handle(s: SwrSettings, inv: Invocation) -> Response:
        raise KeyError("internal detail /etc/passwd")

    app = FunctionApp("push_sync", SwrSettings, handle)
    out = app.functiongraph_handler(apig_event(), FgContext("req-77"))
    assert out["statusCode"] == 500
    assert json.loads(out["body"]) == {"error": "internal error", "correlation_id": "corr-apig-1"}
    assert "Traceback" not in out["body"] and "passwd" not in out["body"] and "KeyError" not in out["body"]
    lines = captured_logs.lines()
    errors = [line for line in lines if line["level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["message"] == "unhandled error" and errors[0]["error_type"] == "KeyError"
    assert "Traceback" in errors[0]["exception"]  # the log keeps the traceback; the caller never sees it
    assert (errors[0]["request_id"], errors[0]["function_name"], errors[0]["correlation_id"]) == (
        "req-77",
        "push_sync",
        "corr-apig-1",
    )
    assert len(captured_logs.text.splitlines()) == len(lines)  # one JSON object per line


def test_handler_returning_a_non_response_is_a_500(
    env: pytest.MonkeyPatch, captured_logs: LogCapture
) -> None:
    app = FunctionApp("f", SwrSettings, lambda s, inv: None)  # type: ignore[arg-type,return-value]
    out = app.openfaas_handle(OfEvent(), OfContext())
    assert out["statusCode"] == 500 and json.loads(out["body"])["error"] == "internal error"
    assert len([line for line in captured_logs.lines() if line["level"] == "error"]) == 1


def test_log_context_is_cleared_after_the_invocation(
    env: pytest.MonkeyPatch, captured_logs: LogCapture
) -> None:
    from shared.logs import logs

    app = FunctionApp("f", SwrSettings, _ok)
    app.functiongraph_handler(apig_event(), FgContext("rid-ctx"))
    logs.get_logger().info("after")
    assert "request_id" not in captured_logs.lines()[-1]


def test_log_level_from_settings(env: pytest.MonkeyPatch, captured_logs: LogCapture) -> None:
    from shared.logs import logs

    env.setenv("LOG_LEVEL", "WARNING")

    def handle(s: SwrSettings, inv: Invocation) -> Response:
        log = logs.get_logger()
        log.info("hidden")
        log.warning("shown")
        return Response.json(200, {})

    FunctionApp("f", SwrSettings, handle).openfaas_handle(OfEvent(), OfContext())
    # Filtered at the configured level, and still written to the captured stream.
    assert [line["message"] for line in captured_logs.lines()] == ["shown"]


def test_request_helpers() -> None:
    req = Request(headers={"x-a": "1"}, query={"t": ["a,b", "c"]})
    assert req.header("X-A") == "1" and req.header("missing", "d") == "d"
    assert req.query_all("t") == ["a", "b", "c"] and req.query_one("t") == "c" and req.query_one("x") is None
    err = Response.error(400, "bad", "cid", field="x")
    assert err.data == {"error": "bad", "field": "x", "correlation_id": "cid"}
    assert Response.error(400, "bad").data == {"error": "bad"}


def test_credential_checks_accept_any_text_and_refuse_repeats() -> None:
    from shared.runtime.credentials import bearer_matches, same_secret
    from shared.runtime.model import Request

    assert same_secret("tok", "tok") and not same_secret("tok", "tok2") and not same_secret("", "tok")
    assert not same_secret("\ud800", "tok") and same_secret("\ud800", "\ud800")  # never raises
    ok = Request(headers={"authorization": "Bearer tok-123"}, header_counts={"authorization": 1})
    assert bearer_matches(ok, "tok-123") and not bearer_matches(ok, "tok-12")
    assert not bearer_matches(Request(headers={"authorization": "tok-123"}), "tok-123")  # scheme required
    twice = Request(headers={"authorization": "Bearer tok-123"}, header_counts={"authorization": 2})
    assert not bearer_matches(twice, "tok-123")


def test_json_answers_with_a_lone_surrogate_stay_encodable() -> None:
    answer = Response.json(200, {"digest": "sha256:\ud800abc", "name": "café"})
    assert isinstance(answer.body, str)
    answer.body.encode("utf-8")
    assert json.loads(answer.body) == {"digest": "sha256:\ud800abc", "name": "café"}
    assert "café" in Response.json(200, {"name": "café"}).body


def test_apig_body_with_a_lone_surrogate_becomes_bytes_that_are_not_utf8() -> None:
    """Raising here would escape the function's error handling (a traceback to the platform)."""
    request = functiongraph.apig_request({"httpMethod": "POST", "path": "/", "body": '{"a":"\ud800"}'})
    with pytest.raises(UnicodeDecodeError):
        request.body.decode("utf-8")


def test_adapters_render_a_non_text_body_that_stays_encodable() -> None:
    """Both adapters render a dict body as JSON text; a lone surrogate in it is escaped, not a failed write."""
    data = {"digest": "sha256:\ud800abc", "name": "café"}
    fg = functiongraph.from_response(Response(200, data), "http")  # type: ignore[arg-type]
    of = openfaas.from_response(Response(200, data))  # type: ignore[arg-type]
    for text in (fg["body"], of["body"]):
        text.encode("utf-8")
        assert json.loads(text) == data and "\\ud800" in text
    plain = {"name": "café"}
    assert "café" in openfaas.from_response(Response(200, plain))["body"]  # type: ignore[arg-type]
    assert "café" in functiongraph.from_response(Response(200, plain), "http")["body"]  # type: ignore[arg-type]
