"""push-sync's side of the proof: an intent for every (tag, target) it triggered, and for permanent failures.

Written before the idempotency result, so a delivery that dies in between loses nothing (the redelivery syncs
again and finds the intent already there). A store failure is logged and the answer is unchanged: the sync
happened, only its proof is not recorded (job-monitor's job-based checks still see it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, Protocol

from shared.logs.logs import get_logger
from shared.logs.redact import clip
from shared.state import StateStore, StateUnavailable, get_state
from shared.state.intents import Intent, intent_id, record
from shared.sync.batching import GroupOutcome

# Senders that redeliver a non-2xx answer forever (their queue waits behind it): a permanent failure recorded as
# a failed intent is answered 200 with the failure named in the body. The others keep their 4xx (they give up).
RETRY_FOREVER = frozenset({"distribution"})


class Work(Protocol):
    """What this module reads of app.TagWork."""

    @property
    def decision(self) -> Any: ...

    @property
    def failure(self) -> str: ...

    @property
    def reason(self) -> str: ...


_deprecation_logged = False


def state_for(settings: Any) -> StateStore | None:
    """The instance's state store (push-sync settings: STATE_REDIS_URL or its deprecated alias)."""
    global _deprecation_logged
    if settings.idempotency_redis_url and not settings.state_redis_url and not _deprecation_logged:
        _deprecation_logged = True
        get_logger().warning(
            "IDEMPOTENCY_REDIS_URL is deprecated: set STATE_REDIS_URL to the same URL (see README, State)"
        )
    try:
        return get_state(settings.redis_url, settings.idempotency_max_entries)
    except StateUnavailable as err:
        get_logger().warning("state store unavailable: intents not recorded", error=str(err))
        return None


def _intent(
    work: Work,
    target: Any,
    source_region: str,
    delivery_id: str,
    now: datetime,
    status: str = "pending",
    reason: str = "",
    swr_answer: list[str] | None = None,
) -> Intent:
    e = work.decision.event
    return Intent(
        id=intent_id(
            e.namespace,
            e.repository,
            e.tag,
            target.region,
            target.namespace,
            target.override,
            e.identity or delivery_id,
        ),
        namespace=e.namespace,
        repository=e.repository,
        tag=e.tag,
        digest=e.digest,
        identity=e.identity,
        source_region=source_region,
        region=target.region,
        target_namespace=target.namespace,
        override=target.override,
        created_at=now,
        last_action_at=now,
        delivery_id=delivery_id,
        source=e.source,
        swr_answer=swr_answer,
        status=status,  # type: ignore[arg-type]
        reason=reason,
    )


def intents_of(
    work: Iterable[Work],
    outcomes: Iterable[GroupOutcome],
    source_region: str,
    delivery_id: str,
    now: datetime | None = None,
) -> list[Intent]:
    """One intent per target SWR accepted (``pending``, with SWR's answer verbatim). Failed targets record
    nothing here: transient ones are redelivered, permanent ones are :func:`failures_of`."""
    now = now or datetime.now(timezone.utc)
    by_item: dict[tuple[Any, ...], GroupOutcome] = {}
    for group_outcome in outcomes:
        g = group_outcome.group
        for tag in g.tags:
            item_key = (*g.key, tag)
            by_item[item_key] = group_outcome
    out: list[Intent] = []
    for w in work:
        e = w.decision.event
        for t in w.decision.targets:
            outcome = by_item.get((e.namespace, e.repository, t.region, t.namespace, t.override, e.tag))
            if outcome is not None and outcome.triggered:  # SWR's list kept verbatim, never read as failed
                out.append(_intent(w, t, source_region, delivery_id, now, swr_answer=list(outcome.swr_list)))
    return out


def failures_of(
    work: Iterable[Work],
    rejected: Iterable[Any],
    source_region: str,
    delivery_id: str,
    permanent: str,
    now: datetime | None = None,
) -> list[Intent]:
    """A ``failed`` intent per target of a tag that failed permanently, and per push rejected before it had any
    (invalid names or tag): the reason is kept for the monitor's alert."""
    now = now or datetime.now(timezone.utc)
    out: list[Intent] = []
    for w in work:
        if w.failure == permanent:
            for t in w.decision.targets:
                out.append(_intent(w, t, source_region, delivery_id, now, "failed", clip(w.reason, 500)))
    for r in rejected:
        names = (clip(r.namespace, 255), clip(r.repository, 255), clip(r.tag, 255))
        out.append(
            Intent(
                id=intent_id(*names, "", "", False, r.digest or delivery_id),
                namespace=names[0],
                repository=names[1],
                tag=names[2],
                digest=clip(r.digest, 200),
                source_region=source_region,
                region="",
                target_namespace="",
                created_at=now,
                last_action_at=now,
                delivery_id=delivery_id,
                source=r.source,
                status="failed",
                reason=clip(f"rejected: {r.reason}", 500),
            )
        )
    return out


def answer_status(status: int, sender: str, recorded: bool) -> int:
    """A 422 (permanent failure) becomes 200 for a sender that retries forever, once the failures are recorded
    (the monitor alerts them); never when they could not be recorded (then only the sender's retries remain)."""
    if status == 422 and recorded and sender in RETRY_FOREVER:
        return 200
    return status


def record_all(state: StateStore | None, intents: list[Intent]) -> int | None:
    """Record every intent; the number newly written, or None if the store failed (logged)."""
    if state is None or not intents:
        return 0 if state is not None else None
    written = 0
    try:
        for intent in intents:
            written += record(state, intent)
    except StateUnavailable as err:
        get_logger().warning(
            "state store unavailable: intents not recorded", error=str(err), recorded=written, of=len(intents)
        )
        return None
    return written
