"""CloudEvents 1.0 (structured mode): Harbor's CloudEvents format, and FunctionGraph EventGrid envelopes.

- Harbor (v2.8+, ``Content-Type: application/cloudevents+json``): ``type`` ``harbor.artifact.pushed`` carries the
  same ``data`` as the Default format's ``event_data``; other ``harbor.*`` types are not pushes. The data may be
  an object, JSON text or ``data_base64``, and may also be a whole Default-format event (``type`` +
  ``event_data``, as some senders deliver in binary mode). A push whose data cannot be read is a
  :class:`PayloadError` (→ 400), never an ignore: a 200 would stop the sender's retries and lose the tag.
- EventGrid delivers one CloudEvent, or ``{"events": [cloudevent, ...]}``; a CloudEvent whose ``data`` (or
  ``data_base64``) is any other supported payload is unwrapped and that payload parsed.
- A CloudEvent whose ``data`` is not a push payload is acknowledged and ignored, with the reason.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from functions.push_sync.model import Ignored, ParseResult, PayloadError
from functions.push_sync.parsers import harbor
from functions.push_sync.parsers.common import UnreadablePush, items, json_kind, loads, obj, show, text

FORMAT = "harbor-cloudevents"
HARBOR_PUSH = "harbor.artifact.pushed"
MAX_DEPTH = 3


def looks_like(data: dict[str, Any]) -> bool:
    return "specversion" in data


def is_batch(data: dict[str, Any]) -> bool:
    events = data.get("events")
    return (
        isinstance(events, list)
        and bool(events)
        and all(isinstance(e, dict) and "specversion" in e for e in events)
    )


def parse(data: dict[str, Any], inner: Callable[[Any, int], ParseResult], depth: int = 0) -> ParseResult:
    """One CloudEvent. ``inner(payload, depth)`` parses an unwrapped payload (any supported format)."""
    kind = text(data.get("type"), 200)
    source = text(data.get("source"), 200)
    where = {"type": show(kind), "ce_source": show(source), "id": show(text(data.get("id"), 200))}
    if kind.startswith("harbor."):
        result = ParseResult(FORMAT)
        if kind != HARBOR_PUSH:
            result.ignored.append(Ignored(f"event type {show(kind)} is not a push", FORMAT, where))
            return result
        _parse_harbor_push(data, result)
        return result
    result = ParseResult("cloudevents")
    try:
        payload = read_data(data)
    except PayloadError as err:
        result.ignored.append(
            Ignored(f"CloudEvent {show(kind)}: data is not a push payload ({err})", "cloudevents", where)
        )
        return result
    if payload is None:
        result.ignored.append(Ignored(f"CloudEvent {show(kind)} carries no data", "cloudevents", where))
        return result
    if depth >= MAX_DEPTH:
        raise PayloadError("CloudEvents nested too deeply")
    if isinstance(payload, dict) and isinstance(payload.get("resources"), list) and "repository" in payload:
        # A Harbor-shaped body in some other CloudEvent type (SWR EE via EventGrid? UNCONFIRMED).
        result.format = "cloudevents-harbor"
        if "push" not in kind.lower():
            result.ignored.append(Ignored(f"event type {show(kind)} is not a push", "cloudevents", where))
        else:
            harbor.parse_event_data(payload, result, "cloudevents-harbor")
        return result
    try:
        return inner(payload, depth + 1)
    except UnreadablePush:
        raise  # a push, unreadable: 400 for the whole delivery, so that the sender retries or is fixed
    except PayloadError as err:
        result.ignored.append(
            Ignored(f"CloudEvent {show(kind)}: data is not a push payload ({err})", "cloudevents", where)
        )
        return result


def _parse_harbor_push(event: dict[str, Any], result: ParseResult) -> None:
    what = f"{HARBOR_PUSH} event"
    try:
        payload = read_data(event)
    except PayloadError as err:
        raise UnreadablePush(f"{what}: {err}") from None
    if payload is None:
        raise UnreadablePush(f"{what} carries no data: cannot read the pushed tags")
    if isinstance(payload, dict) and "resources" not in payload and harbor.looks_like(payload):
        # A whole Default-format event as the data (binary mode: ce-type header, Harbor's Default body).
        harbor.parse_event(payload, result, FORMAT)
        return
    if not isinstance(payload, dict):
        field = "data" if "data" in event else "data_base64"
        raise UnreadablePush(
            f"{what}: '{field}' must be a JSON object (Harbor event data), got {json_kind(payload)}"
        )
    harbor.parse_event_data(payload, result, FORMAT)


def read_data(event: dict[str, Any]) -> Any:
    """The event's ``data`` (JSON text decoded), or ``data_base64`` decoded; None if it carries neither (or
    ``null``). Raises :class:`PayloadError` naming the field when it is there but cannot be decoded."""
    if "data" in event:
        value = event["data"]
        return loads(value, "'data'") if isinstance(value, str) else value
    raw = event.get("data_base64")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise PayloadError(f"'data_base64' must be a base64 string, got {json_kind(raw)}")
    try:
        decoded = base64.b64decode(raw, validate=False)
    except (binascii.Error, ValueError):
        raise PayloadError("'data_base64': not valid base64") from None
    return loads(decoded, "'data_base64'")


def data_of(event: dict[str, Any]) -> Any:
    """Like :func:`read_data`, but None when the data is absent or cannot be decoded."""
    try:
        return read_data(event)
    except PayloadError:
        return None


def parse_batch(
    data: dict[str, Any], inner: Callable[[Any, int], ParseResult], depth: int = 0
) -> ParseResult:
    result = ParseResult("eventgrid")
    for event in items(data.get("events")):  # a non-list never crashes a direct caller
        result.extend(parse(obj(event), inner, depth))
    return result
