"""Decode a webhook body and route it to the parser of its format (detected from the payload's shape).

Detection order: CloudEvent (``specversion``) or EventGrid batch (``events`` of CloudEvents) → Distribution
envelope (``events`` with ``action``) → Harbor Default / SWR EE (``type`` + ``event_data``) → Docker Hub
(``push_data`` + ``repository``) → Quay (``updated_tags``) → generic (``namespace``, ``repository``, ``tags``).
The Content-Type is not trusted for detection (registries differ); CloudEvents binary mode (``ce-*`` headers,
the body being the event's data) is recognised from its headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions.push_sync.model import ParseResult, PayloadError
from functions.push_sync.parsers import cloudevents, distribution, dockerhub, generic, harbor, quay
from functions.push_sync.parsers.common import json_kind, loads

MAX_PUSHES = 1000  # pushed tags in one delivery; a registry batch is far smaller


def decode(body: bytes) -> Any:
    """The body's JSON value. Malformed JSON, including an object with a repeated key, is a PayloadError."""
    if not body.strip():
        raise PayloadError("empty body: expected a JSON push payload")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise PayloadError(f"body is not UTF-8 text (invalid byte at offset {err.start})") from None
    return loads(text)


def parse_payload(body: bytes, headers: Mapping[str, str] | None = None) -> ParseResult:
    """Parse a webhook body; raises :class:`PayloadError` (→ 400) naming what is wrong."""
    data = decode(body)
    headers = headers or {}
    if headers.get("ce-specversion") and isinstance(data, dict) and "specversion" not in data:
        data = {
            "specversion": headers.get("ce-specversion", ""),
            "type": headers.get("ce-type", ""),
            "source": headers.get("ce-source", ""),
            "id": headers.get("ce-id", ""),
            "data": data,
        }
    result = route(data, 0)
    pushes = len(result.events) + len(result.rejected)
    if pushes > MAX_PUSHES:
        raise PayloadError(f"too many pushed tags in one delivery ({pushes} > {MAX_PUSHES})")
    return result


def route(data: Any, depth: int = 0) -> ParseResult:
    if not isinstance(data, dict):
        raise PayloadError(f"unrecognised payload: expected a JSON object, got {json_kind(data)}")
    if cloudevents.looks_like(data):
        return cloudevents.parse(data, route, depth)
    if cloudevents.is_batch(data):
        return cloudevents.parse_batch(data, route, depth)
    if distribution.looks_like(data):
        return distribution.parse(data)
    if "events" in data:
        raise PayloadError(
            "unrecognised payload: 'events' must be a list of Distribution events (each with 'action') "
            "or of CloudEvents (each with 'specversion')"
        )
    if harbor.looks_like(data):
        return harbor.parse(data)
    if dockerhub.looks_like(data):
        return dockerhub.parse(data)
    if quay.looks_like(data):
        return quay.parse(data)
    if generic.looks_like(data):
        return generic.parse(data)
    keys = sorted(str(k)[:40] for k in data)[:12]
    raise PayloadError(
        "unrecognised payload: not Harbor/SWR EE (type + event_data), CloudEvents (specversion), "
        "Distribution (events[].action), Docker Hub (push_data + repository), Quay (updated_tags) "
        f"or generic (namespace + repository + tags); top-level keys: {keys}"
    )
