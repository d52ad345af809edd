"""CloudEvents 1.0 in any content mode (see :mod:`functions.push_sync.cehttp`), and FunctionGraph EventGrid
envelopes (one CloudEvent, ``{"events": [...]}``, or a JSON array of CloudEvents).

Dispatch by ``type``:

- ``harbor.*`` (Harbor v2.8+ CloudEvents format): ``harbor.artifact.pushed`` carries the same ``data`` as the
  Default format's ``event_data`` (an object, JSON text or ``data_base64``; or a whole Default event, as some
  senders deliver in binary mode); Harbor's other types are acknowledged non-pushes.
- ``zotregistry.*`` (zot's events extension): see :mod:`functions.push_sync.parsers.zot`.
- any other type is an envelope (EventGrid): its data must be another supported payload, parsed recursively.

Rule: a type no table lists, or a push whose data cannot be read, is a :class:`UnreadablePush` (→ 400): only a
positively identified non-push is acknowledged and ignored; a 200 would stop the sender's retries.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from functions.push_sync import cehttp
from functions.push_sync.model import Ignored, ParseResult, PayloadError
from functions.push_sync.parsers import harbor, zot
from functions.push_sync.parsers.common import (
    UnreadablePush,
    items,
    json_kind,
    loads,
    obj,
    show,
    text,
    unknown_kind,
)

FORMAT = "harbor-cloudevents"
HARBOR_PUSH = "harbor.artifact.pushed"
# Harbor's CloudEvents types (src/pkg/notifier/formats/cloudevents.go) that are not pushes.
HARBOR_OTHERS = {
    "harbor.artifact.pulled",
    "harbor.artifact.deleted",
    "harbor.quota.exceeded",
    "harbor.quota.warned",
    "harbor.replication.status.changed",
    "harbor.scan.failed",
    "harbor.scan.completed",
    "harbor.scan.stopped",
    "harbor.tag_retention.finished",
}
MAX_DEPTH = 3
Inner = Callable[[Any, int], ParseResult]


def looks_like(data: dict[str, Any]) -> bool:
    return "specversion" in data


def is_batch(data: dict[str, Any]) -> bool:
    events = data.get("events")
    return isinstance(events, list) and bool(events) and all(is_event(e) for e in events)


def is_event(value: Any) -> bool:
    return isinstance(value, dict) and "specversion" in value


def parse(data: dict[str, Any], inner: Inner, depth: int = 0) -> ParseResult:
    """One CloudEvent. ``inner(payload, depth)`` parses an unwrapped payload (any supported format)."""
    kind = _attribute(data, "type")
    _attribute(data, "specversion")
    where = {
        "type": show(kind),
        "ce_source": show(text(data.get("source"), 200)),
        "id": show(text(data.get("id"), 200)),
    }
    if kind.startswith("harbor."):
        result = ParseResult(FORMAT)
        if kind in HARBOR_OTHERS:
            result.ignored.append(Ignored(f"event type {show(kind)} is not a push", FORMAT, where))
        elif kind == HARBOR_PUSH:
            _parse_harbor_push(data, result)
        else:
            raise unknown_kind("Harbor CloudEvent", "type", kind, [HARBOR_PUSH], HARBOR_OTHERS)
        return result
    if kind.startswith(zot.PREFIX):
        return zot.parse(kind, _read_for(data, f"{kind} event"), where)
    return _envelope(data, kind, where, inner, depth)


def _attribute(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise UnreadablePush(
            f"CloudEvent without a '{name}' attribute (got {json_kind(value)}): cannot tell whether it is a push"
        )
    return value[:200]


def _envelope(
    data: dict[str, Any], kind: str, where: dict[str, str], inner: Inner, depth: int
) -> ParseResult:
    """A CloudEvent of a type no table lists (EventGrid's own): its data must be a supported payload."""
    what = f"CloudEvent {show(kind)} (source {where['ce_source']})"
    payload = _read_for(data, what)
    if payload is None:
        raise UnreadablePush(f"{what} carries no data, and its type is not a known event type")
    if depth >= MAX_DEPTH:
        raise PayloadError("CloudEvents nested too deeply")
    if isinstance(payload, dict) and isinstance(payload.get("resources"), list) and "repository" in payload:
        # A Harbor-shaped body in some other CloudEvent type (SWR EE via EventGrid? UNCONFIRMED): the type must
        # say push; anything else could be one and is refused rather than guessed.
        if "push" not in kind.lower():
            raise UnreadablePush(f"{what}: Harbor-shaped data, but the type does not say push")
        result = ParseResult("cloudevents-harbor")
        harbor.parse_event_data(payload, result, "cloudevents-harbor")
        return result
    try:
        return inner(payload, depth + 1)
    except UnreadablePush:
        raise
    except PayloadError as err:
        raise UnreadablePush(f"{what}: data is not a recognised push payload ({err})") from None


def _read_for(event: dict[str, Any], what: str) -> Any:
    try:
        return read_data(event)
    except PayloadError as err:
        raise UnreadablePush(f"{what}: {err}") from None


def _parse_harbor_push(event: dict[str, Any], result: ParseResult) -> None:
    what = f"{HARBOR_PUSH} event"
    payload = _read_for(event, what)
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
    """The event's data as a JSON value: ``data`` (JSON text decoded), ``data_base64`` decoded, or a binary-mode
    body; None if it carries none (or ``null``). Raises :class:`PayloadError` naming the field when the data is
    there but cannot be read as JSON (a non-JSON ``datacontenttype`` included: no push format is anything else).
    """
    if cehttp.BINARY_DATA in event:
        media = event.get("datacontenttype")
        if not cehttp.is_json(media):
            raise PayloadError(f"binary-mode body: Content-Type {show(media)} is not JSON")
        return loads(event[cehttp.BINARY_DATA], "binary-mode body")
    if "data" in event:
        value = event["data"]
        return loads(value, "'data'") if isinstance(value, str) else value
    raw = event.get("data_base64")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise PayloadError(f"'data_base64' must be a base64 string, got {json_kind(raw)}")
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadError("'data_base64': not valid base64") from None
    return loads(decoded, "'data_base64'")


def data_of(event: dict[str, Any]) -> Any:
    """Like :func:`read_data`, but None when the data is absent or cannot be decoded."""
    try:
        return read_data(event)
    except PayloadError:
        return None


def parse_batch(events: Any, inner: Inner, depth: int = 0, fmt: str = "eventgrid") -> ParseResult:
    """A list of CloudEvents (a batched-mode body), or an EventGrid ``{"events": [...]}`` envelope."""
    if isinstance(events, dict):
        events = events.get("events")
    result = ParseResult(fmt)
    if isinstance(events, list) and not events:
        result.ignored.append(Ignored("empty batch: no event in it", fmt))
    for event in items(events):  # a non-list never crashes a direct caller
        if not is_event(event):
            raise UnreadablePush(f"{fmt}: every element must be a CloudEvent object (with 'specversion')")
        result.extend(parse(obj(event), inner, depth))
    return result
