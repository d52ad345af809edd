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
kept verbatim beside it (``swr_list``), never read as synced or failed (see :mod:`shared.batching`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from functions.push_sync import intents as proof
from functions.push_sync.decide import Decision, RepoListing, decide, sync_items
from functions.push_sync.detect import parse_payload
from functions.push_sync.idempotency import (
    Claim,
    Store,
    StoreUnavailable,
    acquire,
    get_store,
    idempotency_key,
)
from functions.push_sync.model import ParseResult, PayloadError, Rejected
from functions.push_sync.settings import PushSyncSettings
from functions.push_sync.webhook_auth import authenticate
from shared.batching import GroupOutcome, group_syncs, run_groups, sync_call
from shared.errors import ApiError, AuthError, ConfigError, NotFound
from shared.logs import get_logger
from shared.redact import clip
from shared.runtime.model import Invocation, Response
from shared.selection import TagInfo
from shared.state.deadline import bounded_by, within_invocation

RAW_LOG_LIMIT = 8192
CLAIM_MARGIN_SECONDS = 5.0  # an IAM token request and the store's own commands
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

# failure kinds, worst first for the overall status
# AUTH and CONFIG are our side's problems (credentials, a redirecting endpoint): 502, retry once fixed.
TRANSIENT, AUTH, CONFIG, PERMANENT = "transient", "auth", "config", "permanent"
TRIGGERED = "triggered"  # SWR answered 200: the sync was started; proof of arrival is the target region's tag


@dataclass
class TagWork:
    """One pushed tag being processed: its decision, idempotency claim and, in the end, its result."""

    decision: Decision
    key: str | None = None
    claim: Claim | None = None
    status: str = ""
    reason: str = ""
    failure: str = ""  # TRANSIENT | AUTH | CONFIG | PERMANENT | ""
    target_results: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def result(self) -> dict[str, Any]:
        e = self.decision.event
        out: dict[str, Any] = {
            "namespace": e.namespace,
            "repository": e.repository,
            "tag": e.tag,
            "status": self.status,
            "reason": self.reason,
            "targets": self.target_results,
        }
        if e.digest:
            out["digest"] = e.digest
        out["source"] = e.source
        out.update(self.extra)
        return out


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
    return _answer(settings, cid, parsed, work, dry_run, calls, started, recorded)


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
                store = _claim(store, w, lock_ms, wait_until)
            if w.claim is None or w.claim.state == "acquired":
                to_sync.append(w)
            elif w.claim.state == "done":
                _duplicate(w, w.claim.result or {})
            else:
                w.status = "in_progress"
                w.reason = "another delivery of this push is in progress: retry later"
                w.target_results = [m.to_dict() for m in w.decision.matches]
        calls = _sync(settings, invocation, to_sync) if to_sync else 0
    finally:
        _settle(settings, settle_store, to_sync, invocation.correlation_id)
    return calls


def claim_ttl_ms(settings: PushSyncSettings, pending: list[TagWork], remaining_ms: float | None) -> int:
    """How long a claim may block redeliveries: the time this invocation's sync calls can take, not the
    function's maximum timeout (a crashed instance would otherwise get a registry's redelivery refused with 409
    for many minutes).

    Each call is bounded by the retry policy (attempts x (timeout + longest backoff)); the calls run
    ``SYNC_CONCURRENCY`` at a time; at most one call per tag and target. Plus a margin for an IAM token and the
    store itself; never more than the invocation's remaining time; at least 5 s.
    """
    per_call = settings.http_max_attempts * (settings.http_timeout + settings.http_backoff_max)
    calls = max(1, sum(len(w.decision.matches) for w in pending))
    rounds = -(-calls // settings.sync_concurrency)
    expected_ms = (per_call * rounds + CLAIM_MARGIN_SECONDS) * 1000.0
    if remaining_ms is not None:
        expected_ms = min(expected_ms, remaining_ms)
    return int(min(max(expected_ms, 5_000), 900_000))


def _store(settings: PushSyncSettings) -> Store | None:
    if settings.idempotency_window_seconds <= 0:
        return None
    try:
        return get_store(settings.redis_url, settings.idempotency_max_entries)
    except StoreUnavailable as err:
        get_logger().warning("idempotency store unavailable: proceeding without", error=str(err))
        return None


def _claim(store: Store, w: TagWork, lock_ms: int, wait_until: float) -> Store | None:
    """Claim the tag's idempotency key; on a store failure, go on without a store for this invocation."""
    e = w.decision.event
    w.key = idempotency_key(e.namespace, e.repository, e.tag, w.decision.targets)
    try:
        w.claim = acquire(store, w.key, lock_ms, wait_until, e.identity)
    except StoreUnavailable as err:
        get_logger().warning("idempotency store unavailable: proceeding without", error=str(err))
        w.key = None
        return None
    return store


def _duplicate(w: TagWork, stored: dict[str, Any]) -> None:
    w.status = "duplicate"
    first = str(stored.get("correlation_id", ""))[:128]
    at = str(stored.get("triggered_at", stored.get("synced_at", "")))[:40]  # synced_at: older versions
    w.reason = f"already triggered by delivery {first or '?'} at {at or '?'}"
    targets = stored.get("targets")
    w.target_results = targets if isinstance(targets, list) else [m.to_dict() for m in w.decision.matches]
    w.extra["first_correlation_id"] = first


def _tag_listing(settings: PushSyncSettings, invocation: Invocation) -> RepoListing:
    """A repository's tags from SWR, for rules that keep only the ``latest`` N (one call per repository)."""

    def listing(namespace: str, repository: str) -> list[TagInfo]:
        from shared.connect import connect

        client = connect(settings, invocation.remaining_ms(), invocation.context)
        return [
            TagInfo(t.tag, t.updated or t.created, t.digest) for t in client.iter_tags(namespace, repository)
        ]

    return listing


def _sync(settings: PushSyncSettings, invocation: Invocation, to_sync: list[TagWork]) -> int:
    from shared.connect import connect

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
        _log_call(outcome)
    for w in to_sync:
        _tag_result(w, by_tag)
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


def _log_call(outcome: GroupOutcome) -> None:
    g = outcome.group
    fields: dict[str, Any] = {
        "namespace": g.namespace,
        "repository": g.repository,
        "region": g.region,
        "target_namespace": g.target_namespace,
        "override": g.override,
        "tags": list(g.tags),
        "duration_ms": outcome.duration_ms,
    }
    if outcome.error is not None:
        fields["error"] = str(outcome.error)
        fields["error_type"] = type(outcome.error).__name__
    else:
        fields["swr_list"] = list(outcome.swr_list)
    get_logger().info("sync_images call", triggered=outcome.triggered, **fields)


def _classify(error: BaseException) -> tuple[str, str]:
    """(failure kind, reason) of a failed sync call."""
    if isinstance(error, NotFound):
        return PERMANENT, f"unknown namespace or repository in SWR: {error}"
    if isinstance(error, AuthError):
        return AUTH, f"SWR refused our credentials: {error}"
    if isinstance(error, ConfigError):  # e.g. a credential no HTTP header can carry
        return CONFIG, f"cannot call SWR: {error}"
    if isinstance(error, ApiError) and 300 <= error.status < 400:
        # Never followed (it would resend credentials elsewhere): the endpoint configuration is wrong.
        return CONFIG, f"SWR redirected the call (check SWR_ENDPOINT): {error}"
    if isinstance(error, ApiError) and not error.retryable:
        return PERMANENT, f"SWR rejected the request: {error}"
    if getattr(error, "retryable", False):
        return TRANSIENT, f"SWR unavailable: {error}"
    get_logger().error(
        "sync failed unexpectedly", error_type=type(error).__name__, error=clip(str(error), 300)
    )
    return TRANSIENT, f"internal error: {type(error).__name__}"


def _tag_result(w: TagWork, by_tag: dict[tuple[Any, ...], GroupOutcome]) -> None:
    e = w.decision.event
    failures: list[tuple[str, str]] = []
    w.target_results = []
    for match in w.decision.matches:
        t = match.target
        entry = match.to_dict()
        outcome = by_tag.get((e.namespace, e.repository, t.region, t.namespace, t.override, e.tag))
        if outcome is None:  # cannot happen: every item was grouped
            failures.append((TRANSIENT, "not triggered"))
            entry.update(status="failed", error="not triggered")
        elif outcome.error is not None:
            kind, reason = _classify(outcome.error)
            failures.append((kind, reason))
            entry.update(status="failed", error=reason, retryable=kind != PERMANENT)
        else:
            # 200: triggered. SWR's list goes beside it as SWR said it; its meaning is disputed (seed pages).
            entry.update(status=TRIGGERED, swr_list=list(outcome.swr_list))
        w.target_results.append(entry)
    if not failures:
        w.status = TRIGGERED
        w.reason = f"sync triggered to {len(w.target_results)} target(s)"
        return
    w.status = "failed"
    kinds = {k for k, _ in failures}
    w.failure = next(k for k in (TRANSIENT, AUTH, CONFIG, PERMANENT) if k in kinds)
    w.reason = "; ".join(dict.fromkeys(r for _, r in failures))


def _settle(settings: PushSyncSettings, store: Store | None, to_sync: list[TagWork], cid: str) -> None:
    """Remember successes; release every other claim (a failed sync must be retried on redelivery).

    A store blip is retried (:func:`_with_retries`) within the invocation's time: a claim left behind blocks
    the redeliveries of its tag until it expires.
    """
    if store is None:
        return
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for w in to_sync:
        if w.key is None or w.claim is None or w.claim.state != "acquired":
            continue
        key, token = w.key, w.claim.token
        try:
            if w.status == TRIGGERED:
                stored = {
                    "status": TRIGGERED,
                    "identity": w.decision.event.identity,
                    "targets": w.target_results,
                    "correlation_id": cid,
                    "triggered_at": now,
                }
                ttl = settings.idempotency_window_seconds
                _with_retries(functools.partial(store.complete, key, token, stored, ttl))
            else:
                _with_retries(functools.partial(store.release, key, token))
        except StoreUnavailable as err:
            get_logger().warning(
                "idempotency store unavailable while settling: the claim expires on its own",
                error=str(err),
            )
            return


SETTLE_ATTEMPTS = 3
SETTLE_BACKOFF = 0.05


def _with_retries(op: Callable[[], None]) -> None:
    """Run a store write, retried on StoreUnavailable (short backoff); each command is bounded by the
    store's timeout and the invocation's end (``shared.state.deadline.bounded_by``), so retries never overrun it."""
    for attempt in range(SETTLE_ATTEMPTS):
        try:
            op()
            return
        except StoreUnavailable:
            if attempt + 1 >= SETTLE_ATTEMPTS or not within_invocation(SETTLE_BACKOFF * 2**attempt):
                raise
            time.sleep(SETTLE_BACKOFF * 2**attempt)


# -- answer -------------------------------------------------------------------------------------------------


def _rejected_result(r: Rejected) -> dict[str, Any]:
    out = {
        "namespace": r.namespace,
        "repository": r.repository,
        "tag": r.tag,
        "status": "rejected",
        "reason": r.reason,
        "rule": r.rule,
        "targets": [],
        "source": r.source,
    }
    return out


def _answer(
    settings: PushSyncSettings,
    cid: str,
    parsed: ParseResult,
    work: list[TagWork],
    dry_run: bool,
    calls: int,
    started: float,
    recorded: int | None = None,
) -> Response:
    log = get_logger()
    results = [w.result() for w in work] + [_rejected_result(r) for r in parsed.rejected]
    for w, result in zip(work, results, strict=False):
        log.info(
            "push decision",
            **{k: v for k, v in result.items() if k != "targets"},
            targets=result["targets"],
            rules_not_applied=[f"{label}: {why}" for label, why in w.decision.rejections][:20],
        )
    for r in parsed.rejected:
        log.info(
            "push decision",
            namespace=r.namespace,
            repository=r.repository,
            tag=r.tag,
            status="rejected",
            reason=r.reason,
            rule=r.rule,
            source=r.source,
        )
    for item in parsed.ignored:
        log.debug("push ignored", **item.to_dict())

    failures = {w.failure for w in work if w.failure}
    if TRANSIENT in failures:
        status = 503
    elif AUTH in failures or CONFIG in failures:
        status = 502
    elif any(w.status == "in_progress" for w in work):
        status = 409
    elif PERMANENT in failures or parsed.rejected:
        status = 422
    else:
        status = 200
    status = proof.answer_status(status, parsed.format, recorded is not None)
    counts: dict[str, int] = {}
    for result in results:
        counts[str(result["status"])] = counts.get(str(result["status"]), 0) + 1
    summary = {"http_status": status, "calls": calls, "ignored": len(parsed.ignored), "statuses": counts}
    if status == 200 and (PERMANENT in failures or parsed.rejected):
        summary["failures_recorded"] = (
            "permanent failures recorded as failed intents; job-monitor alerts them"
        )
    log.info(
        "push-sync done",
        format=parsed.format,
        dry_run=dry_run,
        duration_ms=round((time.monotonic() - started) * 1000, 2),
        **summary,
    )
    data = {
        "correlation_id": cid,
        "format": parsed.format,
        "dry_run": dry_run,
        "results": results,
        "ignored": [i.to_dict() for i in parsed.ignored],
        "summary": summary,
    }
    headers = {"Retry-After": str(settings.retry_after_seconds)} if status in (409, 502, 503) else {}
    return Response.json(status, data, headers)
