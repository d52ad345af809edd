"""job-monitor's reconcile mode: ``{"mode": "reconcile"}`` in a manual call's body or a timer's ``user_event``.

A plan by default; ``"apply": true`` syncs the difference, only in an authenticated run (a FunctionGraph timer or
the ``MONITOR_TOKEN`` bearer) that is not a dry run, within ``RECONCILE_MAX_CALLS`` calls (or ``max_calls``)
and the invocation's time. What it triggers is recorded as intents, so the next monitor runs prove each tag
in its target region, and its progress (a cursor, the triggered tags) is kept in the state store, so the next
run continues where this one stopped.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from functions.job_monitor.reconcile.run import Memo, Outcome, Repo, reconcile
from shared.state import StateRecord, StateStore, StateUnavailable

if TYPE_CHECKING:
    from functions.job_monitor.settings import MonitorSettings
    from shared.swr.client import SwrClient
    from shared.sync.batching import SyncGroup

MAX_PLANS_IN_ANSWER = 200


class Mark(StateRecord):
    KIND: ClassVar[str] = "reconcile-mark"
    value: str


class StateMemo:
    """Reconcile's memo on the state store (memory per warm instance, or Redis shared by every instance)."""

    def __init__(self, state: StateStore) -> None:
        self.state = state

    def get(self, key: str) -> str | None:
        mark = self.state.read(Mark, key)
        return mark.value if mark is not None else None

    def put(self, key: str, value: str, ttl_seconds: int) -> None:
        self.state.write(Mark(value=value), key, ttl_seconds)

    def delete(self, key: str) -> None:
        self.state.remove(Mark, key)


def record_intents(state: StateStore, source_region: str, now: datetime) -> Any:
    """``on_triggered(group, swr_list)``: an intent per triggered tag, for the monitor to prove."""
    from shared.state.intents import Intent, intent_id, record

    def on_triggered(group: SyncGroup, swr_list: list[str]) -> None:
        for tag in group.tags:
            ident = intent_id(
                group.namespace,
                group.repository,
                tag,
                group.region,
                group.target_namespace,
                group.override,
                f"reconcile:{now.isoformat()}",
            )
            intent = Intent(
                id=ident,
                namespace=group.namespace,
                repository=group.repository,
                tag=tag,
                source_region=source_region,
                region=group.region,
                target_namespace=group.target_namespace,
                override=group.override,
                created_at=now,
                last_action_at=now,
                delivery_id="reconcile",
                source="reconcile",
                swr_answer=swr_list,
            )
            record(state, intent)

    return on_triggered


def run(
    settings: MonitorSettings,
    client: SwrClient,
    region_client: Any,
    overrides: Any,
    apply: bool,
    deadline: Any,
    log: Any,
) -> dict[str, Any]:
    """One reconcile run; the answer is the outcome (plans capped), never an exception for a store problem."""
    from functions.job_monitor.reconcile.wiring import select_repos
    from shared.state import get_state

    rules = settings.rules
    memo: Memo | None = None
    on_triggered = None
    state_note: dict[str, Any] = {}
    try:
        state = get_state(settings.state_redis_url)
        memo = StateMemo(state)
        on_triggered = record_intents(state, settings.swr_region or "", datetime.now(timezone.utc))
        state_note = {"backend": state.name}
    except StateUnavailable as err:
        log.warning("state store unavailable: reconcile keeps no progress this run", error=str(err))
        state_note = {"degraded": True, "error": str(err)[:200]}
    explicit = [Repo(*r.split("/", 1)) for r in overrides.repos or [] if "/" in r]
    repos = explicit or select_repos(client, rules, overrides.namespaces or [])
    outcome: Outcome = reconcile(
        repos,
        rules,
        client,
        region_client,
        apply=apply,
        memo=memo,
        deadline=deadline,
        max_calls=overrides.max_calls or settings.reconcile_max_calls,
        source_region=settings.swr_region,
        concurrency=settings.concurrency,
        on_triggered=on_triggered,
        keep_plans=MAX_PLANS_IN_ANSWER,  # the answer shows these; the rest are counted, never held
    )
    answer = outcome.to_dict()
    answer["state"] = state_note
    log.info("reconcile", **{k: v for k, v in answer.items() if k != "plans"})
    return answer
