"""job-monitor's use of the state store: the proof context, durable alert and re-sync memory, stored reports.

With a store, an alert is taken with a set-if-absent marker per (key, job) or cause: any number of runs,
overlapping, late or repeated, send it once per window; a re-sync of a key's failed job is taken the same way, so
two overlapping runs never re-sync the same key twice; a recovery is announced once. The memory backend gives this
within one warm instance, Redis across all of them. Without a store (a dry run, or the store failed during the
run), de-duplication falls back to the time-window rule of ``classify.is_due`` (one alert per failure when runs
are exactly one period apart).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from functions.job_monitor.classify import FAILED, OK, STUCK, KeyState
from functions.job_monitor.evidence import ProofContext
from functions.job_monitor.settings import MonitorSettings
from shared.state import StateRecord, StateStore, StateUnavailable, get_state
from shared.swr.client import SwrClient

__all__ = ["StateUnavailable"]

RUNS_TTL = 30 * 86400
MEMORY_TTL = 7 * 86400  # alerted keys, recoveries and flaps are remembered a week


class RunReport(StateRecord):
    """A run's report, kept for the health page (the latest ``MONITOR_REPORTS_KEPT``)."""

    KIND: ClassVar[str] = "run-report"
    at: datetime
    report: dict[str, Any]


def region_clients(settings: MonitorSettings, client: SwrClient) -> Any:
    """``client_for(region)``: the run's client (same auth, transport, deadline, counters) on another region's
    endpoint; created once per region."""
    clients: dict[str, SwrClient] = {}
    lock = threading.Lock()  # reconcile plans repositories from several threads

    def client_for(region: str) -> SwrClient:
        with lock:
            return _client_for(region)

    def _client_for(region: str) -> SwrClient:
        if region not in clients:
            endpoint = client.endpoint if region == settings.swr_region else settings.region_endpoint(region)
            clients[region] = SwrClient(
                endpoint=endpoint,
                auth=client.auth,
                transport=client.transport,
                policy=client.policy,
                deadline=client.deadline,
                stats=client.stats,
            )
        return clients[region]

    return client_for


def proof_context(settings: MonitorSettings, client: SwrClient, log: Any) -> ProofContext | None:
    try:
        state = get_state(settings.state_redis_url)
    except StateUnavailable as err:
        log.warning("state store unavailable: no proof of replication this run", error=str(err))
        return None
    return ProofContext(
        state, region_clients(settings, client), settings.verify_after_seconds, settings.max_intents
    )


def _marker(state: KeyState) -> str:
    return f"{state.key.label}|job {state.latest.id}|{state.category}"


def alertable(states: Sequence[KeyState], now: datetime) -> list[KeyState]:
    """Failed or stuck keys whose alert time has come (``is_due`` without its one-period window)."""
    return [
        s
        for s in states
        if s.due_at is not None and s.category in (FAILED, STUCK) and s.relevant and s.due_at <= now
    ]


class JobAlerted(StateRecord):
    """A key whose failure was alerted: when it is ok again, its recovery is announced (once)."""

    KIND: ClassVar[str] = "job-alerted"
    at: datetime
    job_id: int


def claim_alerts(
    store: StateStore, alertable: Sequence[KeyState], window: float, now: datetime
) -> list[KeyState]:
    """The keys this run alerts: those whose (key, latest job, category) marker it takes. Raises
    StateUnavailable (the caller then falls back to the time-window rule)."""
    mine = [s for s in alertable if store.once("job-alert", _marker(s), max(1.0, window))]
    for s in mine:
        store.write(JobAlerted(at=now, job_id=s.latest.id), s.key.label, MEMORY_TTL)
    return mine


def claim_recoveries(store: StateStore, states: Sequence[KeyState]) -> list[KeyState]:
    """Keys ok again after an alerted failure, each announced by one run only."""
    out: list[KeyState] = []
    for s in states:
        if s.category != OK:
            continue
        alerted = store.read(JobAlerted, s.key.label)
        if alerted is not None and store.once(
            "job-recovery", f"{s.key.label}|{alerted.at.isoformat()}", MEMORY_TTL
        ):
            store.remove(JobAlerted, s.key.label)
            out.append(s)
    return out


def flap_history(store: StateStore, states: Sequence[KeyState]) -> dict[str, int]:
    """Flaps (a failure superseded by a success) per key over the last week, counted once per flap."""
    out: dict[str, int] = {}
    for s in states:
        if s.recovered:
            label = s.key.label
            if store.once("flap", f"{label}|job {s.latest.id}", MEMORY_TTL):
                store.count("flaps", label, MEMORY_TTL)
            out[label] = store.counter("flaps", label)
    return out


def claim_resyncs(store: StateStore, failing: Sequence[KeyState], ttl: float) -> set[Any]:
    """Keys another overlapping run is already re-syncing (their marker was taken): this run leaves them."""
    return {s.key for s in failing if not store.once("job-resync", f"{s.key.label}|job {s.latest.id}", ttl)}


def allow_cause(store: StateStore, cause: str, window: float) -> bool:
    return store.once("cause-alert", cause, max(1.0, window))


def state_info(store: StateStore | None, error: str = "") -> dict[str, Any]:
    if store is None:
        return {"backend": "none", "degraded": True, "error": error}
    out: dict[str, Any] = {"backend": store.name, "degraded": store.degraded or bool(error)}
    if store.corrupt:
        out["corrupt_values"] = store.corrupt
    if error:
        out["error"] = error
    return out


def keep_report(store: StateStore, report: dict[str, Any], now: datetime, keep: int, log: Any) -> None:
    try:
        store.push_recent(RunReport(at=now, report=report), "runs", keep, RUNS_TTL)
    except StateUnavailable as err:
        log.warning("state store unavailable: run report not kept", error=str(err))


def recent_reports(store: StateStore, count: int) -> list[RunReport]:
    return store.recent(RunReport, "runs", count)


class RunMemory:
    """One run's durable memory: what ``run_monitor`` calls at each step. Without a proof context (or in a dry
    run) every method is a no-op that keeps the stateless behaviour; a store failure is remembered, reported,
    and from then on the run falls back to the stateless rules."""

    def __init__(self, proof: ProofContext | None, dry_run: bool) -> None:
        self.proof = proof
        self.store = proof.state if proof is not None and not dry_run else None
        self.error = ""
        self.elsewhere: set[Any] = set()
        self.recoveries: list[KeyState] = []
        self.flaps: dict[str, int] = {}

    @property
    def usable(self) -> bool:
        return self.store is not None and not self.error

    def _failed(self, err: StateUnavailable) -> None:
        self.error = self.error or str(err)

    def claim_resyncs(self, states: Sequence[KeyState], period: float) -> list[KeyState]:
        """The states this run may re-sync: failed keys an overlapping run is re-syncing are left to it."""
        if self.usable and self.store is not None:
            try:
                failing = [s for s in states if s.category == FAILED]
                self.elsewhere = claim_resyncs(self.store, failing, max(1.0, period / 2))
            except StateUnavailable as err:
                self._failed(err)
        return [s for s in states if s.key not in self.elsewhere]

    def allow_cause(self, cause: str, now: datetime, window: float) -> bool:
        """Once per cause per window: durable with a store, else this warm instance's memory."""
        if self.usable and self.store is not None:
            try:
                return allow_cause(self.store, cause, window)
            except StateUnavailable as err:
                self._failed(err)
        from functions.job_monitor.alerts import REPEAT_GUARD

        return REPEAT_GUARD.allow(cause, now, window)

    def due(
        self,
        states: Sequence[KeyState],
        window_due: list[KeyState],
        remediating: Any,
        now: datetime,
        remember: float,
    ) -> list[KeyState]:
        """The keys to alert, each taken with its marker (recoveries and flaps are taken too).

        With a shared store (Redis): every alertable key not yet alerted for its job, so a skipped or late run
        drops nothing. With memory: ``window_due`` (the time-window rule), marked so that overlapping runs of
        this instance send it once; a cold start empties the memory, and alerting every still-failing key again
        after each one would be worse than the window rule. Without a store, or if it fails: ``window_due``."""
        if not (self.usable and self.store is not None):
            return window_due
        pool = alertable(states, now) if self.store.name == "redis" else window_due
        candidates = [s for s in pool if not remediating(s.key) and s.key not in self.elsewhere]
        try:
            due = claim_alerts(self.store, candidates, remember, now)
            self.recoveries = claim_recoveries(self.store, states)
            self.flaps = flap_history(self.store, states)
        except StateUnavailable as err:
            self._failed(err)  # at most one alert more than a healthy store
            return window_due
        return due

    def classic(self, states: Sequence[KeyState], outcome: dict[Any, Any]) -> dict[Any, Any]:
        """For the proof: each failed key the job-based check decided on, with its re-sync outcome."""
        from functions.job_monitor.evidence import ELSEWHERE

        return {
            s.key: ELSEWHERE if s.key in self.elsewhere else outcome.get(s.key)
            for s in states
            if s.category == FAILED
        }

    def info(self, proof_degraded: str = "") -> dict[str, Any] | None:
        if self.proof is None:
            return None
        out = state_info(self.proof.state, self.error or proof_degraded)
        if self.flaps:
            out["flaps_7d"] = dict(list(self.flaps.items())[:50])
        return out

    def keep(self, report: Any, now: datetime, keep: int, log: Any) -> None:
        """Store the run's report (not for a dry run, nor when the store failed in this run)."""
        if self.usable and self.store is not None:
            keep_report(self.store, report.to_dict(), now, keep, log)
