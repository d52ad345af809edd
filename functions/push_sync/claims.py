"""push-sync's idempotency claims: how long a claim lives, claiming a tag's key, and settling it (remember a
triggered tag, release every other claim so a redelivery retries it)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from functions.push_sync.idempotency import Store, StoreUnavailable, acquire, idempotency_key
from functions.push_sync.settings import PushSyncSettings
from functions.push_sync.work import TRIGGERED, TagWork
from shared.logs.logs import get_logger
from shared.state.deadline import within_invocation

CLAIM_MARGIN_SECONDS = 5.0  # an IAM token request and the store's own commands
SETTLE_ATTEMPTS = 3
SETTLE_BACKOFF = 0.05


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


def claim(store: Store, w: TagWork, lock_ms: int, wait_until: float) -> Store | None:
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


def duplicate(w: TagWork, stored: dict[str, Any]) -> None:
    w.status = "duplicate"
    first = str(stored.get("correlation_id", ""))[:128]
    at = str(stored.get("triggered_at", stored.get("synced_at", "")))[:40]  # synced_at: older versions
    w.reason = f"already triggered by delivery {first or '?'} at {at or '?'}"
    targets = stored.get("targets")
    w.target_results = targets if isinstance(targets, list) else [m.to_dict() for m in w.decision.matches]
    w.extra["first_correlation_id"] = first


def settle(settings: PushSyncSettings, store: Store | None, to_sync: list[TagWork], cid: str) -> None:
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
