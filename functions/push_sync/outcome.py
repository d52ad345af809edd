"""What each sync call's outcome means for a pushed tag: its per-target results, status and failure kind."""

from __future__ import annotations

from typing import Any

from functions.push_sync.work import AUTH, CONFIG, PERMANENT, TRANSIENT, TRIGGERED, TagWork
from shared.logs.logs import get_logger
from shared.logs.redact import clip
from shared.swr.errors import ApiError, AuthError, ConfigError, NotFound
from shared.sync.batching import GroupOutcome


def log_call(outcome: GroupOutcome) -> None:
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


def classify(error: BaseException) -> tuple[str, str]:
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


def tag_result(w: TagWork, by_tag: dict[tuple[Any, ...], GroupOutcome]) -> None:
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
            kind, reason = classify(outcome.error)
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
