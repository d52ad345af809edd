"""Huawei Cloud FunctionGraph adapter: ``handler(event, context)``.

Recognised events: APIG (``httpMethod``; body base64 when ``isBase64Encoded``; lower-cased headers), TIMER
(``trigger_type == "TIMER"``; ``user_event`` is a string), SMN (``record[].smn``), EventGrid CloudEvents
(``specversion``, or a ``{"events": [...]}`` batch), and anything else as a direct invocation. HTTP answers use
the APIG shape ``{statusCode, headers, body: str, isBase64Encoded}``; other triggers get the JSON value.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from shared.lazyre import lazy
from shared.logs import jsontext
from shared.runtime.model import Invocation, Request, Response, Trigger


def _ctx(context: Any, method: str) -> Any:
    fn = getattr(context, method, None)
    try:
        return fn() if callable(fn) else None
    except Exception:  # a broken context accessor must not break the invocation
        return None


def _json_request(event: Any, trigger_header: str) -> Request:
    body = json.dumps(event, separators=(",", ":")).encode()
    return Request(
        "POST", "/", {"content-type": "application/json", "x-swr-sync-trigger": trigger_header}, {}, body
    )


def detect_trigger(event: Any) -> Trigger:
    if isinstance(event, dict):
        if "httpMethod" in event:
            return "http"
        if str(event.get("trigger_type", "")).upper() == "TIMER":
            return "timer"
        record = event.get("record")
        if isinstance(record, list) and record and isinstance(record[0], dict) and "smn" in record[0]:
            return "smn"
        events = event.get("events")
        if "specversion" in event or (
            isinstance(events, list) and events and isinstance(events[0], dict) and "specversion" in events[0]
        ):
            return "event"
    return "direct"


def apig_request(event: dict[str, Any]) -> Request:
    raw_headers = event.get("headers") or {}
    headers: dict[str, str] = {}
    counts: dict[str, int] = {}
    if isinstance(raw_headers, dict):
        for k, v in raw_headers.items():
            key = str(k).lower()
            # A multi-value header (a list) counts once per value: "sent twice" must stay visible.
            counts[key] = counts.get(key, 0) + (len(v) if isinstance(v, list) and v else 1)
            headers[key] = ",".join(map(str, v)) if isinstance(v, list) else str(v)
    body_field = event.get("body") or ""
    body_error = ""
    if isinstance(body_field, (dict, list)):
        body = json.dumps(body_field).encode()
    elif event.get("isBase64Encoded"):
        try:
            body = _strict_b64(body_field)
        except BadBody as err:
            body, body_error = b"", str(err)
    else:
        # The event is JSON, which can carry a lone surrogate; keep it as bytes that are not UTF-8 (the
        # function answers 400 "not UTF-8 text") rather than fail here, outside the function's error handling.
        body = str(body_field).encode("utf-8", "surrogatepass")
    query: dict[str, list[str]] = {}
    raw_query = event.get("queryStringParameters")
    for k, v in raw_query.items() if isinstance(raw_query, dict) else ():
        query[str(k)] = [str(x) for x in v] if isinstance(v, list) else [str(v)]
    return Request(
        str(event.get("httpMethod", "GET")).upper(),
        str(event.get("path") or "/"),
        headers,
        query,
        body,
        counts,
        body_error,
    )


_BASE64 = lazy(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


class BadBody(ValueError):
    """An APIG body flagged ``isBase64Encoded`` that is not valid base64 (→ 400, never guessed at)."""


def _strict_b64(body_field: Any) -> bytes:
    """Decode strictly: RFC 4648 base64 with padding, nothing else. A lenient decode dropped stray characters,
    so whether a malformed body became 400 or some other bytes depended on its length modulo 4; now it is a 400
    every time. The pattern, not ``b64decode(validate=True)`` alone, decides: that one still accepts data after
    the padding (``AAAA=``) on Python 3.10-3.12."""
    if not isinstance(body_field, str):
        raise BadBody(f"body flagged isBase64Encoded is {type(body_field).__name__}, not a base64 string")
    if not _BASE64.fullmatch(body_field):
        raise BadBody("body flagged isBase64Encoded is not valid base64")
    return base64.b64decode(body_field, validate=True)


def to_invocation(event: Any, context: Any, function_name: str) -> Invocation:
    trigger = detect_trigger(event)
    request = apig_request(event) if trigger == "http" else _json_request(event, trigger)
    request_id = _ctx(context, "getRequestID")
    if not request_id and isinstance(event, dict) and isinstance(event.get("requestContext"), dict):
        request_id = event["requestContext"].get("requestId")
    request_id = request_id or str(uuid.uuid4())

    def remaining() -> float | None:
        value = _ctx(context, "getRemainingTimeInMilliSeconds")
        return float(value) if isinstance(value, (int, float)) else None

    def lookup(name: str) -> str | None:
        value = _ctx_user_data(context, name)
        return value if isinstance(value, str) and value else None

    return Invocation(
        platform="functiongraph",
        trigger=trigger,
        request=request,
        request_id=str(request_id),
        function_name=_ctx(context, "getFunctionName") or function_name,
        remaining_ms=remaining,
        context=context,
        lookup=lookup,
        event=event,
    )


def _ctx_user_data(context: Any, name: str) -> Any:
    fn = getattr(context, "getUserData", None)
    try:
        return fn(name) if callable(fn) else None
    except Exception:
        return None


def from_response(response: Response, trigger: Trigger) -> Any:
    if trigger != "http":
        # Timer/event/direct invocations return the JSON value itself, with the outcome as ``statusCode``
        # so that the console, the invoke API and `swr-sync invoke` all see success or failure.
        if isinstance(response.data, dict):
            return {**response.data, "statusCode": response.data.get("statusCode", response.status)}
        if response.data is not None:
            return {"statusCode": response.status, "body": response.data}
        return {"statusCode": response.status, "body": _text(response.body)}
    body = response.body
    if isinstance(body, bytes):
        try:
            return {
                "statusCode": response.status,
                "headers": response.headers,
                "body": body.decode("utf-8"),
                "isBase64Encoded": False,
            }
        except UnicodeDecodeError:
            return {
                "statusCode": response.status,
                "headers": response.headers,
                "body": base64.b64encode(body).decode(),
                "isBase64Encoded": True,
            }
    return {
        "statusCode": response.status,
        "headers": response.headers,
        "body": _text(body),  # APIG answers 500 unless body is a string
        "isBase64Encoded": False,
    }


def _text(body: Any) -> str:
    if isinstance(body, bytes | bytearray):
        return bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        return body
    return jsontext.dumps(body, default=str)
