"""CloudEvents 1.0 (structured mode): Harbor's CloudEvents format, and FunctionGraph EventGrid envelopes.

- Harbor (v2.8+, ``Content-Type: application/cloudevents+json``): ``type`` ``harbor.artifact.pushed`` carries the
  same ``data`` as the Default format's ``event_data``; other ``harbor.*`` types are not pushes.
- EventGrid delivers one CloudEvent, or ``{"events": [cloudevent, ...]}``; a CloudEvent whose ``data`` (or
  ``data_base64``) is any other supported payload is unwrapped and that payload parsed.
- A CloudEvent whose ``data`` is not a push payload is acknowledged and ignored, with the reason.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from functions.push_sync.model import Ignored, ParseResult, PayloadError
from functions.push_sync.parsers import harbor
from functions.push_sync.parsers.common import items, obj, show, text

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
        harbor.parse_event_data(data.get("data"), result, FORMAT)
        return result
    payload = data_of(data)
    result = ParseResult("cloudevents")
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
    except PayloadError as err:
        result.ignored.append(
            Ignored(f"CloudEvent {show(kind)}: data is not a push payload ({err})", "cloudevents", where)
        )
        return result


def data_of(event: dict[str, Any]) -> Any:
    """The event's ``data`` (JSON strings decoded) or ``data_base64`` decoded; None if absent or not JSON."""
    if "data" in event:
        value = event["data"]
        if isinstance(value, str):
            try:
                return json.loads(value)
            except (ValueError, RecursionError):
                return None
        return value
    raw = text(event.get("data_base64"), 2 * 1024 * 1024)
    if raw:
        try:
            return json.loads(base64.b64decode(raw, validate=False))
        except (binascii.Error, ValueError, RecursionError):
            return None
    return None


def parse_batch(
    data: dict[str, Any], inner: Callable[[Any, int], ParseResult], depth: int = 0
) -> ParseResult:
    result = ParseResult("eventgrid")
    for event in items(data.get("events")):  # a non-list never crashes a direct caller
        result.extend(parse(obj(event), inner, depth))
    return result
