"""job-monitor's ``GET``: the health page (``Accept: text/html`` or ``?format=html``) or its data as JSON.

Access is job-monitor's: with ``MONITOR_TOKEN`` set, a bearer token, or a signed expiring link (links.py). An
authenticated ``?link=1`` answers a fresh link. An expired or altered link is a 403 with a page saying so.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from functions.job_monitor.health import links, page, view
from functions.job_monitor.health.model import STATES
from shared.runtime.credentials import bearer_matches
from shared.runtime.model import Invocation, Response

if TYPE_CHECKING:
    from functions.job_monitor.settings import MonitorSettings

# The page is self-contained: nothing may load from elsewhere, and the signed link must not leak in a Referer.
HTML_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
}
FILTERS = ("namespace", "state", "region")


def _format(invocation: Invocation) -> str:
    req = invocation.request
    chosen = (req.query_one("format") or "").strip().lower()
    if chosen:
        return chosen
    return "html" if "text/html" in (req.header("accept") or "") else "json"


def _refuse(status: int, message: str, fmt: str, cid: str) -> Response:
    if fmt == "html":
        return Response(status, page.refused(message), dict(HTML_HEADERS))
    return Response.error(status, message, cid)


def answer(settings: MonitorSettings, invocation: Invocation, log: Any) -> Response:
    req = invocation.request
    cid = invocation.correlation_id
    fmt = _format(invocation)
    if fmt not in ("html", "json"):
        return Response.error(400, "query parameter format must be html or json", cid)
    token = settings.monitor_token
    secret = settings.health_link_secret or token
    bearer = bool(token) and bearer_matches(req, token or "")
    exp, sig = req.query_one("exp"), req.query_one("sig")
    keep: dict[str, str] = {}
    if token and not bearer:
        if exp is None and sig is None:
            return _refuse(
                401, "this page needs a bearer token or a signed link (swr-sync health-link)", fmt, cid
            )
        try:
            links.verify(secret or "", exp, sig)
        except links.LinkError as err:
            log.warning("health page refused", reason=str(err))  # never the link itself
            return _refuse(403, f"{err}: ask for a new link", fmt, cid)
        keep = {"exp": exp or "", "sig": sig or ""}
    if req.query_one("link") in ("1", "true"):
        if not bearer:
            return Response.error(403, "a link is issued to a bearer-token caller only", cid)
        if not secret:
            return Response.error(409, "set MONITOR_TOKEN or HEALTH_LINK_SECRET to sign links", cid)
        issued = links.issue(secret, settings.health_link_ttl)
        return Response.json(200, {"query": {"format": "html", **issued}, "expires": int(issued["exp"])})
    chosen = {name: (req.query_one(name) or "").strip() for name in FILTERS}
    if chosen["state"] and chosen["state"] not in STATES:
        return Response.error(400, f"query parameter state must be one of {', '.join(STATES)}", cid)
    from shared.state import get_state

    now = datetime.now(timezone.utc)
    full = view.read(
        get_state(settings.state_redis_url), now, settings.stuck_after_seconds, settings.health_max_cells, 20
    )
    shown = full.filtered(**chosen)
    if fmt == "json":
        return Response.json(200, shown.to_dict(), {"Cache-Control": "no-store"})
    return Response(200, page.render(full, shown, now, chosen, keep), dict(HTML_HEADERS))
