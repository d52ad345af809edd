"""Rendering of one page of an export as JSON, CSV (RFC 4180) or NDJSON, within a byte budget.

A document is metadata, a list of items (policies, then drift entries) and the errors of the fetch. Paging is
over the items; metadata and errors are repeated on every page (each page is a fresh export).

- JSON: one object ``{generated_at, source_region, query, count, total, page, content_hash, coverage_complete,
  error_count, [errors_omitted], [warnings], policies, errors, [drift], [next]}``.
- NDJSON: one policy object per line (no ``_kind`` key); then ``{"_kind":"drift",...}`` lines, ``{"_kind":
  "error",...}`` lines and always, last, one ``{"_kind":"meta",...}`` line (its absence means a truncated stream).
- CSV: header row, data rows (CRLF). The table is the policies, or with ``compare=rules`` the drift entries.
  Trailer rows whose only cell starts with ``#`` report errors, warnings and the next cursor; no data cell can
  start with ``#``. Cells starting with ``= + - @``, TAB or CR are prefixed with ``'`` (formula injection).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from typing import Any

from functions.policy_export.drift import DRIFT_COLUMNS, DriftReport
from functions.policy_export.model import COLUMNS, ExportResult
from functions.policy_export.paging import PageSpan, select_span, wire_size
from shared.logs import jsontext
from shared.record import field, record

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@record(frozen=True)
class Item:
    """One exported item: a policy or a drift entry."""

    kind: str  # policy | missing | extra | different
    data: dict[str, Any]


@record
class Document:
    """The whole export before paging: its format, metadata and items."""

    format: str
    meta: dict[
        str, Any
    ]  # generated_at, source_region, query, total, content_hash, coverage_complete, error_count
    items: list[Item]
    errors: list[dict[str, Any]]
    error_lines: list[str]  # one-line summaries (CSV trailer)
    drift: dict[str, Any] | None = None  # summary, with compare=rules
    warnings: list[str] = field(default_factory=list)

    @property
    def table_columns(self) -> tuple[str, ...]:
        return DRIFT_COLUMNS if self.drift is not None else COLUMNS


@record
class Page:
    """One rendered page of an export and the cursor to the next."""

    body: str
    span: PageSpan
    next_cursor: str | None
    policies: int
    errors_shown: int
    size: int
    items_digest: str  # sha256 of the page's rendered items (for the ETag)


def build_document(
    fmt: str,
    result: ExportResult,
    meta: dict[str, Any],
    drift: DriftReport | None = None,
    warnings: list[str] | None = None,
) -> Document:
    if fmt == "csv" and drift is not None:
        items = [Item(e.drift, e.as_dict()) for e in drift.entries]
    else:
        items = [Item("policy", p.as_dict()) for p in result.policies]
        if drift is not None:
            items += [Item(e.drift, e.as_dict()) for e in drift.entries]
    return Document(
        fmt,
        meta,
        items,
        [e.as_dict() for e in result.errors],
        [e.summary() for e in result.errors],
        drift.summary() if drift is not None else None,
        list(warnings or []),
    )


# -- cells and fragments ----------------------------------------------------------------------------------------


def safe_cell(value: Any) -> str:
    """A CSV cell: booleans as true/false, None empty, and formula-looking text defused with a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_row(cells: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(c) for c in cells])
    return buffer.getvalue()


def _dumps(value: Any) -> str:
    return jsontext.dumps(value, default=str)


def _comment(text: str) -> str:
    return csv_row(["# " + " ".join(text.split())])


class _Renderer:
    def __init__(self, doc: Document) -> None:
        self.doc = doc

    def fragment(self, item: Item) -> str:
        raise NotImplementedError

    def error_fragment(self, index: int) -> str:
        raise NotImplementedError

    def assemble(
        self,
        page_meta: dict[str, Any],
        fragments: list[tuple[str, str]],
        errors: list[str],
        next_cursor: str | None,
    ) -> str:
        raise NotImplementedError


class JsonRenderer(_Renderer):
    def fragment(self, item: Item) -> str:
        return _dumps(item.data)

    def error_fragment(self, index: int) -> str:
        return _dumps(self.doc.errors[index])

    def assemble(
        self,
        page_meta: dict[str, Any],
        fragments: list[tuple[str, str]],
        errors: list[str],
        next_cursor: str | None,
    ) -> str:
        pairs = [(k, _dumps(v)) for k, v in page_meta.items()]
        pairs.append(("policies", _array(f for kind, f in fragments if kind == "policy")))
        pairs.append(("errors", _array(errors)))
        if self.doc.drift is not None:
            drift = [("summary", _dumps(self.doc.drift))]
            drift += [
                (kind, _array(f for k, f in fragments if k == kind))
                for kind in ("missing", "extra", "different")
            ]
            pairs.append(("drift", _object(drift)))
        if next_cursor is not None:
            pairs.append(("next", _dumps(next_cursor)))
        return _object(pairs)


class NdjsonRenderer(_Renderer):
    def fragment(self, item: Item) -> str:
        if item.kind == "policy":
            return _dumps(item.data) + "\n"
        return _dumps({"_kind": "drift", **item.data}) + "\n"

    def error_fragment(self, index: int) -> str:
        return _dumps({"_kind": "error", **self.doc.errors[index]}) + "\n"

    def assemble(
        self,
        page_meta: dict[str, Any],
        fragments: list[tuple[str, str]],
        errors: list[str],
        next_cursor: str | None,
    ) -> str:
        meta = {"_kind": "meta", **page_meta}
        if self.doc.drift is not None:
            meta["drift"] = self.doc.drift
        if next_cursor is not None:
            meta["next"] = next_cursor
        return "".join(f for _, f in fragments) + "".join(errors) + _dumps(meta) + "\n"


class CsvRenderer(_Renderer):
    def fragment(self, item: Item) -> str:
        return csv_row([item.data.get(c) for c in self.doc.table_columns])

    def error_fragment(self, index: int) -> str:
        return _comment("error: " + self.doc.error_lines[index])

    def assemble(
        self,
        page_meta: dict[str, Any],
        fragments: list[tuple[str, str]],
        errors: list[str],
        next_cursor: str | None,
    ) -> str:
        parts = [csv_row(list(self.doc.table_columns))]
        parts += [f for _, f in fragments]
        total_errors = len(self.doc.errors)
        if total_errors:
            parts.append(
                _comment(
                    f"incomplete export: the policies of {total_errors} "
                    f"repositor{'y' if total_errors == 1 else 'ies'} could not be listed"
                )
            )
            parts += errors
            if len(errors) < total_errors:
                parts.append(_comment(f"{total_errors - len(errors)} more errors omitted"))
        parts += [_comment("warning: " + w) for w in self.doc.warnings]
        if next_cursor is not None:
            parts.append(_comment("next: " + next_cursor))
        return "".join(parts)


RENDERERS: dict[str, type[_Renderer]] = {"json": JsonRenderer, "csv": CsvRenderer, "ndjson": NdjsonRenderer}


def _array(fragments: Any) -> str:
    return "[" + ",".join(fragments) + "]"


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{_dumps(k)}:{v}" for k, v in pairs) + "}"


# -- pages ------------------------------------------------------------------------------------------------------


# Over 60 lines on purpose: the byte budget (errors' share, worst-case overhead, the span, the final check)
# shares its closures (fragment, meta_for); cut, that state would travel between helpers.
def render_page(
    doc: Document,
    offset: int,
    budget: int | None,
    limit: int | None,
    cursor_for: Callable[[int], str],
) -> Page:
    """The page of ``doc`` starting at item ``offset``: as many items as fit ``budget`` (wire bytes; None = no
    bound) and ``limit``, with a ``next`` cursor when items remain."""
    renderer = RENDERERS[doc.format](doc)
    total = len(doc.items)
    fragments: dict[int, str] = {}

    def fragment(index: int) -> str:
        if index not in fragments:
            fragments[index] = renderer.fragment(doc.items[index])
        return fragments[index]

    # Errors may take at most half of the budget, so items always have room.
    error_frags = [renderer.error_fragment(i) for i in range(len(doc.errors))]
    if budget is not None:
        room, shown = budget // 2, 0
        for frag in error_frags:
            room -= wire_size(frag) + 1
            if room < 0:
                break
            shown += 1
        error_frags = error_frags[:shown]

    def meta_for(span: PageSpan) -> dict[str, Any]:
        meta = dict(doc.meta)
        meta["count"] = sum(1 for i in range(span.start, span.end) if doc.items[i].kind == "policy")
        meta["page"] = {"offset": span.start, "items": span.end - span.start, "total_items": span.total}
        omitted = len(doc.errors) - len(error_frags)
        if omitted:
            meta["errors_omitted"] = omitted
        if doc.warnings:
            meta["warnings"] = doc.warnings
        return _ordered(meta)

    # Overhead: everything but the items, with worst-case numbers and a worst-case next cursor.
    worst = PageSpan(total, total, total)
    worst_meta = meta_for(worst)
    worst_meta["count"] = max(total, 1) * 10
    worst_meta["page"] = {"offset": total * 10 + 9, "items": total * 10 + 9, "total_items": total}
    overhead = wire_size(renderer.assemble(worst_meta, [], error_frags, cursor_for(total)))
    span = select_span(total, offset, lambda i: wire_size(fragment(i)) + 1, budget, overhead, limit)
    while True:
        next_cursor = cursor_for(span.end) if span.has_more else None
        body = renderer.assemble(
            meta_for(span),
            [(doc.items[i].kind, fragment(i)) for i in range(span.start, span.end)],
            error_frags,
            next_cursor,
        )
        size = wire_size(body)
        if budget is None or size <= budget or span.end - span.start <= 1:
            break
        span = PageSpan(span.start, span.end - 1, span.total)  # cannot happen with exact overheads; be safe
    policies = sum(1 for i in range(span.start, span.end) if doc.items[i].kind == "policy")
    digest = hashlib.sha256()
    for i in range(span.start, span.end):
        digest.update(fragment(i).encode())
    return Page(body, span, next_cursor, policies, len(error_frags), size, digest.hexdigest())


_META_ORDER = (
    "generated_at",
    "source_region",
    "query",
    "count",
    "total",
    "page",
    "content_hash",
    "coverage_complete",
    "error_count",
    "errors_omitted",
    "warnings",
)


def _ordered(meta: dict[str, Any]) -> dict[str, Any]:
    out = {k: meta[k] for k in _META_ORDER if k in meta}
    out.update((k, v) for k, v in meta.items() if k not in out)
    return out
