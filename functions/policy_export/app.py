"""The HTTP function: GET with query parameters → one page of the export (see docs/policy-export.md)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from functions.policy_export.export import build_meta, drift_against, run_export
from functions.policy_export.model import ExportResult, canonical_json
from functions.policy_export.paging import Cursor, CursorError
from functions.policy_export.params import (
    EXTENSIONS,
    MEDIA_TYPES,
    ExportQuery,
    NotAcceptable,
    ParamError,
    parse_query,
)
from functions.policy_export.render import Document, Page, build_document, render_page
from functions.policy_export.rulesource import rules_for
from functions.policy_export.scope import ScopeError
from functions.policy_export.settings import FunctionSettings
from shared.logs.logs import get_logger
from shared.rules import RuleSet
from shared.runtime.connect import connect
from shared.runtime.credentials import bearer_matches
from shared.runtime.model import Invocation, Request, Response

CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8; header=present",
    "ndjson": "application/x-ndjson; charset=utf-8",
}
RETRY_AFTER_SECONDS = "5"
REALM = 'Bearer realm="swr-sync policy-export"'


def handle(settings: FunctionSettings, invocation: Invocation) -> Response:
    log = get_logger()
    req = invocation.request
    cid = invocation.correlation_id
    refused = _refused(settings, req, cid, log)
    if refused is not None:
        return refused
    asked = _read_query(settings, req, cid, log)
    if isinstance(asked, Response):
        return asked
    query, cursor = asked
    log.info(
        "export requested", query=query.canonical(), format=query.format, page=cursor.offset if cursor else 0
    )

    rules = rules_for(settings) if query.compare_rules else None
    client = connect(settings, invocation.remaining_ms(), invocation.context)
    try:
        result = run_export(client, query, settings.concurrency, settings.repo_page_size)
    except ScopeError as err:
        log.warning("namespace listing failed", namespace=err.namespace, status=err.status, error=err.message)
        response = Response.error(err.status, err.message, cid, **err.detail())
        if err.status == 503:
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response
    return _page(settings, req, cid, log, query, cursor, result, rules)


def _refused(settings: FunctionSettings, req: Request, cid: str, log: Any) -> Response | None:
    """The answer to a request refused before reading its query (method, bearer token), or None."""
    if req.method != "GET":
        log.info("request refused", reason="method", method=req.method[:16])
        return Response.method_not_allowed("GET", f"method {req.method[:16]} not allowed; use GET", cid)
    if not authorized(settings, req):
        log.info(
            "request refused", reason="unauthorized", credentials_present=bool(req.header("authorization"))
        )
        response = Response.error(401, "missing or invalid bearer token", cid)
        invalid = ', error="invalid_token"' if req.header("authorization") else ""
        response.headers["WWW-Authenticate"] = REALM + invalid
        return response
    return None


def _read_query(
    settings: FunctionSettings, req: Request, cid: str, log: Any
) -> tuple[ExportQuery, Cursor | None] | Response:
    """The query and its cursor, or the answer refusing them (400, 406)."""
    try:
        query = parse_query(req.query, req.header("accept"))
        cursor = Cursor.decode(query.cursor, query.fingerprint()) if query.cursor else None
        if query.compare_rules and not settings.rules_configured:
            raise ParamError(
                {"compare": "no rules are configured on this deployment (SYNC_RULES or SYNC_RULES_FILE)"}
            )
    except CursorError as err:
        return _invalid({"cursor": str(err)}, cid)
    except ParamError as err:
        return _invalid(err.problems, cid)
    except NotAcceptable as err:
        log.info("request refused", reason="not acceptable", accept=(req.header("accept") or "")[:200])
        return Response.error(406, str(err), cid, formats=list(MEDIA_TYPES.values()))
    return query, cursor


def _page(
    settings: FunctionSettings,
    req: Request,
    cid: str,
    log: Any,
    query: ExportQuery,
    cursor: Cursor | None,
    result: ExportResult,
    rules: RuleSet | None,
) -> Response:
    """The export's page: rendered from the cursor's offset, 304 if the client holds it already."""
    drift = drift_against(result, rules, query) if rules is not None else None
    warnings: list[str] = []
    if cursor is not None and not cursor.same_content(result.content_hash):
        warnings.append(
            "the policies changed since the first page was produced; start again without a cursor for a "
            "consistent export"
        )
    generated_at = datetime.now(timezone.utc)
    meta = build_meta(query, result, settings.source_region(), generated_at)
    doc = build_document(query.format, result, meta, drift, warnings)
    fingerprint = query.fingerprint()

    def cursor_for(offset: int) -> str:
        return Cursor(offset, fingerprint, result.content_hash).encode()

    try:
        page = render_page(doc, cursor.offset if cursor else 0, settings.max_bytes, query.limit, cursor_for)
    except CursorError as err:
        return _invalid({"cursor": str(err)}, cid)

    etag = entity_tag(query, result, doc, page)
    headers = _headers(query, result, doc, page, etag, req, generated_at)
    if not_modified(req.header("if-none-match"), etag):
        log.info("not modified", etag=etag)
        keep = ("ETag", "Cache-Control", "Vary", "X-Export-Content-Hash")
        return Response(304, "", {k: headers[k] for k in keep})
    log.info(
        "page rendered",
        format=query.format,
        bytes=page.size,
        items=page.span.end - page.span.start,
        offset=page.span.start,
        total_items=page.span.total,
        more=page.next_cursor is not None,
        errors=len(result.errors),
    )
    return Response(200, page.body, headers)


def authorized(settings: FunctionSettings, req: Request) -> bool:
    """Bearer token check in constant time; always true when EXPORT_TOKEN is unset (explicitly waived)."""
    expected = settings.export_token
    if expected is None:
        return bool(settings.allow_unauthenticated)
    return bearer_matches(req, expected)


def entity_tag(query: ExportQuery, result: ExportResult, doc: Document, page: Page) -> str:
    """Weak ETag of the page's content (everything but ``generated_at``), stable across runs."""
    material = canonical_json(
        {
            "v": 1,
            "query": query.fingerprint(),
            "source": doc.meta.get("source_region"),
            "content": result.content_hash,
            "span": [page.span.start, page.span.end, page.span.total],
            "body": page.items_digest,
            "errors": [[e.namespace, e.repository, e.kind, e.status, e.code] for e in result.errors],
            "drift": doc.drift,
            "warnings": doc.warnings,
            "next": page.next_cursor,
        }
    )
    return 'W/"' + hashlib.sha256(material.encode()).hexdigest()[:40] + '"'


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison: ``*`` or any listed tag with the same opaque value."""
    if not if_none_match:
        return False
    ours = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == ours:
            return True
    return False


def filename(query: ExportQuery, generated_at: datetime, offset: int) -> str:
    namespaces = "-".join(query.namespaces)
    if len(namespaces) > 80:
        namespaces = f"{query.namespaces[0]}-and-{len(query.namespaces) - 1}-more"
    part = f"-from-{offset}" if offset else ""
    suffix = "-drift" if query.compare_rules and query.format == "csv" else ""
    return f"swr-sync-policies-{namespaces}-{generated_at.strftime('%Y-%m-%d')}{suffix}{part}.{EXTENSIONS[query.format]}"


def _headers(
    query: ExportQuery,
    result: ExportResult,
    doc: Document,
    page: Page,
    etag: str,
    req: Request,
    generated_at: datetime,
) -> dict[str, str]:
    headers = {
        "Content-Type": CONTENT_TYPES[query.format],
        "Content-Disposition": f'attachment; filename="{filename(query, generated_at, page.span.start)}"',
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "Vary": "Accept, Authorization",
        "X-Content-Type-Options": "nosniff",
        "X-Export-Content-Hash": result.content_hash,
        "X-Export-Count": str(page.policies),
        "X-Export-Total": str(len(result.policies)),
        "X-Export-Errors": str(len(result.errors)),
        "X-Export-Coverage-Complete": "true" if result.coverage_complete else "false",
    }
    if doc.drift is not None:
        headers["X-Export-Drift"] = ",".join(f"{k}={doc.drift[k]}" for k in ("missing", "extra", "different"))
    if page.next_cursor is not None:
        headers["X-Export-Next-Cursor"] = page.next_cursor
        params = [(k, v) for k, values in sorted(req.query.items()) if k != "cursor" for v in values]
        params.append(("cursor", page.next_cursor))
        headers["Link"] = f'<?{urlencode(params)}>; rel="next"'
    return headers


def _invalid(problems: dict[str, str], cid: str) -> Response:
    names = sorted(problems)
    get_logger().info("request refused", reason="invalid parameters", parameters=names)
    return Response.error(
        400, f"invalid parameter(s): {', '.join(names)}", cid, problems=problems, parameters=names
    )
