"""Opaque page cursors and size-bounded page selection.

A cursor is base64url (no padding) of compact JSON ``{"v":1,"o":<offset>,"q":<query fingerprint>,"c":<content
hash prefix>}``. It is bound to the query it came from (``q``): a cursor used with other parameters, or altered
so that it no longer decodes to that shape, is refused with 400. It is not a secret or a capability: anyone who
may call the export may ask for any offset anyway. ``c`` lets later pages notice that the policies changed
between pages (a warning, not an error: the export stays usable).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable

from shared.record import record
from shared.swr import wirejson

CURSOR_VERSION = 1
HASH_PREFIX = 16


class CursorError(ValueError):
    """The cursor is malformed, from another query, or points past the end."""


@record(frozen=True)
class Cursor:
    """Where the next page starts, bound to the query and content it was made for."""

    offset: int
    query: str
    content: str

    def encode(self) -> str:
        raw = json.dumps(
            {"v": CURSOR_VERSION, "o": self.offset, "q": self.query, "c": self.content[:HASH_PREFIX]},
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, fingerprint: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            data = wirejson.loads(raw)
        except (binascii.Error, ValueError) as err:
            raise CursorError(
                "malformed cursor (pass the 'next' value of the previous page unchanged)"
            ) from err
        if (
            not isinstance(data, dict)
            or set(data) != {"v", "o", "q", "c"}
            or data["v"] != CURSOR_VERSION
            or type(data["o"]) is not int
            or data["o"] < 0
            or not isinstance(data["q"], str)
            or not isinstance(data["c"], str)
            or len(data["c"]) != HASH_PREFIX
        ):
            raise CursorError("malformed cursor (pass the 'next' value of the previous page unchanged)")
        if data["q"] != fingerprint:
            raise CursorError("cursor belongs to a different query: repeat the original parameters with it")
        return cls(data["o"], data["q"], data["c"])

    def same_content(self, content_hash: str) -> bool:
        return content_hash[:HASH_PREFIX] == self.content


def wire_size(text: str) -> int:
    """Bytes ``text`` takes inside the FunctionGraph APIG response, a JSON string (escaped, ASCII-only).

    Never smaller than its UTF-8 size, so a budget in these units also holds for OpenFaaS' raw body.
    """
    return len(json.dumps(text)) - 2


@record(frozen=True)
class PageSpan:
    """The items of one page: [start, end) of total."""

    start: int
    end: int  # exclusive
    total: int

    @property
    def has_more(self) -> bool:
        return self.end < self.total


def select_span(
    total: int,
    offset: int,
    size_of: Callable[[int], int],
    budget: int | None,
    overhead: int,
    limit: int | None = None,
) -> PageSpan:
    """The longest run of items from ``offset`` whose sizes plus ``overhead`` fit ``budget`` (None: no limit),
    at most ``limit`` items. At least one item when any remain, so that paging always progresses."""
    if offset > total:
        raise CursorError("cursor points past the end of the export (the policies changed; start again)")
    end = total if limit is None else min(total, offset + limit)
    if budget is None:
        return PageSpan(offset, end, total)
    used = overhead
    index = offset
    while index < end:
        used += size_of(index)
        if used > budget and index > offset:
            break
        index += 1
    return PageSpan(offset, index, total)
