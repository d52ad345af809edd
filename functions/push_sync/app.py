"""push-sync: ``handle(settings, invocation)``: authenticate, parse, decide, deduplicate, sync, answer.

HTTP status of the answer (first that applies; see docs/push-sync.md):

- 405 not a POST; 413 body above ``MAX_BODY_BYTES``; 401 authentication failed (no detail);
  400 malformed JSON or an unrecognised payload (the message names what is wrong);
- 503 + ``Retry-After`` if any tag failed transiently (SWR 5xx/429/busy, network, deadline): the registry
  redelivers, and tags already triggered then answer ``duplicate``;
- 502 + ``Retry-After`` if SWR refused our credentials (401/403) or redirected the call (a wrong endpoint):
  nothing the sender did wrong, retry later;
- 409 + ``Retry-After`` if another delivery of the same push is still in progress;
- 422 if a tag failed permanently (invalid names or tag, unknown repository in SWR, other 4xx);
- 200 otherwise (including pushes skipped by the rules and events ignored as not pushes).

A 200 from ``sync_images`` means the sync was **triggered**: a tag's status is ``triggered`` and SWR's 200 list is
kept verbatim beside it (``swr_list``), never read as synced or failed (see :mod:`shared.sync.batching`).
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel

from functions.push_sync import intents as proof
from functions.push_sync.answer import answer
from functions.push_sync.claims import claim, claim_ttl_ms, duplicate, settle
from functions.push_sync.decide import RepoListing, decide, sync_items
from functions.push_sync.detect import parse_payload
from functions.push_sync.idempotency import Store, StoredResult, StoreUnavailable, get_store
from functions.push_sync.model import ParseResult, PayloadError
from functions.push_sync.outcome import log_call, tag_result
from functions.push_sync.settings import PushSyncSettings
from functions.push_sync.webhook_auth import authenticate
from functions.push_sync.work import AUTH, PERMANENT, TagWork
from shared.logs.logs import get_logger
from shared.rules.selection import TagInfo
from shared.runtime.connect import connect  # at import: the first push's call pays no import (#22)
from shared.runtime.model import Invocation, Response
from shared.state.deadline import bounded_by
from shared.state.intents import Cell, Intent, Latest
from shared.swr.errors import ConfigError
from shared.swr.models import SyncImagesRequest
from shared.sync.batching import GroupOutcome, group_syncs, run_groups, sync_call

__all__ = ["TagWork", "claim_ttl_ms", "handle"]  # TagWork and claim_ttl_ms: read by tests from here

# What every push validates (the sync request; the intent, its target's latest and health cell; the stored
# result): built at import by the entry point, not by the first push (#22).
EVERY_PUSH_MODELS: tuple[type[BaseModel], ...] = (SyncImagesRequest, Intent, Latest, Cell, StoredResult)

RAW_LOG_LIMIT = 8192
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def handle(settings: PushSyncSettings, invocation: Invocation) -> Response:
    req = invocation.request
    cid = invocation.correlation_id
    log = get_logger()
    # FunctionGraph authenticates non-HTTP triggers itself; on OpenFaaS everything arrives over HTTP
    # (even "timer" calls, recognised by a header anyone can send), so everything is authenticated there.
    over_http = invocation.trigger == "http" or invocation.platform != "functiongraph"
    if over_http and req.method != "POST":
        return Response.method_not_allowed("POST", "method not allowed: POST a webhook payload", cid)
    if len(req.body) > settings.max_body_bytes:
        log.info(
            "webhook rejected", reason="body too large", size=len(req.body), limit=settings.max_body_bytes
        )
        return Response.error(413, f"body larger than {settings.max_body_bytes} bytes", cid)
    secret = settings.webhook_secret
    if over_http and secret and not authenticate(req, secret, settings.webhook_signature_header):
        log.warning("webhook rejected", reason="authentication failed")
        return Response.json(401, {"error": "unauthorized"})

    dry_run = settings.dry_run
    query_dry_run = (req.query_one("dry_run") or "").strip().lower() if "dry_run" in req.query else None
    if query_dry_run is not None:
        if query_dry_run not in _TRUE | _FALSE:
            return Response.error(400, "query parameter dry_run must be true or false", cid)
        dry_run = dry_run or query_dry_run in _TRUE

    log.debug(
        "webhook payload",
        trigger=invocation.trigger,
        content_type=req.header("content-type"),
        size=len(req.body),
        body=req.body[:RAW_LOG_LIMIT].decode("utf-8", "replace"),
    )
    try:
        parsed = parse_payload(req.body, req.headers)
    except PayloadError as err:
        log.info("webhook rejected", reason=str(err))
        return Response.error(400, str(err), cid)

    started = time.monotonic()
    listing = _tag_listing(settings, invocation) if settings.rules.needs_listing else None
    work = [TagWork(d) for d in decide(parsed.events, settings.rules, settings.swr_region, listing)]
    calls = _process(settings, invocation, work, dry_run)
    recorded = None if dry_run else _record_failures(settings, cid, work, parsed)
    return answer(settings, cid, parsed, work, dry_run, calls, started, recorded)


# -- processing ---------------------------------------------------------------------------------------------


def _process(settings: PushSyncSettings, invocation: Invocation, work: list[TagWork], dry_run: bool) -> int:
    """Fill every TagWork's status; returns the number of sync_images calls made."""
    pending: list[TagWork] = []
    for w in work:
        if w.decision.skipped:
            w.status, w.reason = "skipped", w.decision.reason
            w.target_results = []
        elif dry_run:
            w.status = "dry_run"
            w.reason = f"dry run: would sync to {len(w.decision.matches)} target(s)"
            w.target_results = [m.to_dict() for m in w.decision.matches]
        else:
            pending.append(w)
    if not pending:
        return 0

    store = _store(settings)
    remaining = invocation.remaining_ms()
    lock_ms = claim_ttl_ms(settings, pending, remaining)
    wait_until = time.monotonic() + min(
        settings.idempotency_wait_seconds, max(0.0, (remaining or 1e9) / 4000)
    )
    to_sync: list[TagWork] = []
    # Every store command ends with the invocation, whatever the store's own timeout.
    with bounded_by(None if remaining is None else time.monotonic() + remaining / 1000.0):
        return _claim_sync_settle(settings, invocation, pending, store, lock_ms, wait_until, to_sync)


def _claim_sync_settle(
    settings: PushSyncSettings,
    invocation: Invocation,
    pending: list[TagWork],
    store: Store | None,
    lock_ms: int,
    wait_until: float,
    to_sync: list[TagWork],
) -> int:
    settle_store = store
    try:
        for w in pending:
            if store is not None and w.decision.event.identity:
                store = claim(store, w, lock_ms, wait_until)
            if w.claim is None or w.claim.state == "acquired":
                to_sync.append(w)
            elif w.claim.state == "done":
                duplicate(w, w.claim.result or {})
            else:
                w.status = "in_progress"
                w.reason = "another delivery of this push is in progress: retry later"
                w.target_results = [m.to_dict() for m in w.decision.matches]
        calls = _sync(settings, invocation, to_sync) if to_sync else 0
    finally:
        settle(settings, settle_store, to_sync, invocation.correlation_id)
    return calls


def _store(settings: PushSyncSettings) -> Store | None:
    if settings.idempotency_window_seconds <= 0:
        return None
    try:
        return get_store(settings.redis_url, settings.idempotency_max_entries)
    except StoreUnavailable as err:
        get_logger().warning("idempotency store unavailable: proceeding without", error=str(err))
        return None


def _tag_listing(settings: PushSyncSettings, invocation: Invocation) -> RepoListing:
    """A repository's tags from SWR, for rules that keep only the ``latest`` N (one call per repository)."""

    def listing(namespace: str, repository: str) -> list[TagInfo]:
        client = connect(settings, invocation.remaining_ms(), invocation.context)
        return [
            TagInfo(t.tag, t.updated or t.created, t.digest) for t in client.iter_tags(namespace, repository)
        ]

    return listing


def _sync(settings: PushSyncSettings, invocation: Invocation, to_sync: list[TagWork]) -> int:
    groups = group_syncs(sync_items(w.decision for w in to_sync), max_tags=settings.sync_max_tags_per_call)
    try:
        client = connect(settings, invocation.remaining_ms(), invocation.context)
    except ConfigError:
        for w in to_sync:
            w.status, w.failure, w.reason = "failed", AUTH, "no SWR credentials configured"
        raise
    outcomes = run_groups(groups, sync_call(client), settings.sync_concurrency)
    by_tag: dict[tuple[Any, ...], GroupOutcome] = {}
    for outcome in outcomes:
        g = outcome.group
        for tag in g.tags:
            key = (*g.key, tag)
            by_tag[key] = outcome
        log_call(outcome)
    for w in to_sync:
        tag_result(w, by_tag)
    # Before the idempotency result is written: a delivery dying in between loses no intent.
    region, cid = settings.swr_region or "", invocation.correlation_id
    triggered = proof.intents_of(to_sync, outcomes, region, cid)
    proof.record_all(proof.state_for(settings), triggered)
    return len(groups)


def _record_failures(
    settings: PushSyncSettings, cid: str, work: list[TagWork], parsed: ParseResult
) -> int | None:
    """Permanent failures become failed intents (alerted by job-monitor); None if they could not be recorded."""
    failures = proof.failures_of(work, parsed.rejected, settings.swr_region or "", cid, PERMANENT)
    if not failures:
        return 0
    return proof.record_all(proof.state_for(settings), failures)
