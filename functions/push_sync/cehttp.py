"""The CloudEvents HTTP protocol binding (v1.0.2): which content mode a request uses, and the event(s) in it.

Implemented from the spec (``cloudevents/spec`` ``cloudevents/bindings/http-protocol-binding.md``), stdlib only:

- **structured**: ``Content-Type: application/cloudevents+json`` (any ``application/cloudevents`` type); the
  body is one event in the JSON format.
- **batched**: ``Content-Type: application/cloudevents-batch+json``; the body is a JSON array of such events.
- **binary**: any other Content-Type, with the attributes in ``ce-*`` headers (``ce-specversion`` marks the
  mode). Header values are percent-decoded (UTF-8); the ``Content-Type`` is ``datacontenttype`` and the body is
  the data, e.g. zot's push (attributes in headers, the image data as the body).

Every event comes back in the JSON format's shape (a dict of attributes, with ``data``), so one parser reads
all three modes. Binary data stays bytes under :data:`BINARY_DATA` until the parser reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import unquote

from functions.push_sync.model import PayloadError

Mode = Literal["structured", "batched", "binary", ""]
BINARY_DATA = "_binary_data"  # key of a binary-mode event's body (bytes); never a CloudEvents attribute name
STRUCTURED = "application/cloudevents"
BATCH = "application/cloudevents-batch"
_PREFIX = "ce-"


def media_type(content_type: str | None) -> str:
    """``application/cloudevents+json; charset=utf-8`` → ``application/cloudevents+json``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def content_mode(headers: Mapping[str, str]) -> Mode:
    """The request's content mode, or ``""`` when it is no CloudEvents request at all. Headers are lower-cased.

    The spec decides by the media type first: a batch or structured type wins over ``ce-*`` headers."""
    media = media_type(headers.get("content-type"))
    if media.startswith(BATCH):
        return "batched"
    if media.startswith(STRUCTURED):
        return "structured"
    if "ce-specversion" in headers:
        return "binary"
    return ""


def binary_event(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """A binary-mode request as an event dict: ``ce-*`` headers are attributes, the body is the data."""
    event: dict[str, Any] = {}
    for name, value in headers.items():
        if name.startswith(_PREFIX) and len(name) > len(_PREFIX):
            event[name[len(_PREFIX) :]] = _decode(name, value)
    content_type = headers.get("content-type")
    if content_type:
        event["datacontenttype"] = content_type.strip()
    if body:
        event[BINARY_DATA] = body
    return event


def _decode(name: str, value: str) -> str:
    """A header value, percent-decoded as the binding requires (strictly: malformed UTF-8 is an error)."""
    try:
        return unquote(value.strip(), errors="strict")
    except UnicodeDecodeError:
        raise PayloadError(f"header {name}: percent-encoding is not UTF-8") from None


def is_json(datacontenttype: Any) -> bool:
    """True for a JSON data content type, or none (the JSON format's default is ``application/json``)."""
    if not isinstance(datacontenttype, str) or not datacontenttype.strip():
        return True
    media = media_type(datacontenttype)
    return media in ("application/json", "text/json") or media.endswith("+json")
