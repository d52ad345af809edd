"""The run report: returned to the caller and logged as one JSON line (log-based metrics read it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from functions.job_monitor.classify import CATEGORIES, FAILED, PENDING, STUCK, KeyState, SystemicGroup
from functions.job_monitor.scope import Gap
from shared.record import field, record

MAX_ITEMS = 200  # entries per list in the report; the totals are always exact


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def capped(items: Sequence[Any], limit: int = MAX_ITEMS) -> list[Any]:
    return list(items[:limit])


@record
class Report:
    """The report of one monitor run (logged and returned)."""

    now: datetime
    trigger: str
    dry_run: bool
    window: dict[str, Any]
    repos_in_scope: int = 0
    repos_scanned: int = 0
    gaps: list[Gap] = field(default_factory=list)
    states: list[KeyState] = field(default_factory=list)  # relevant ones
    jobs_by_status: dict[str, int] = field(default_factory=dict)
    lag: dict[str, dict[str, float]] = field(default_factory=dict)
    key_notes: dict[Any, dict[str, Any]] = field(
        default_factory=dict
    )  # key -> {"resync": ..., "alerted": ...}
    resync_groups: list[dict[str, Any]] = field(default_factory=list)
    resync_enabled: bool = True
    max_resync: int = 0
    systemic: list[SystemicGroup] = field(default_factory=list)
    swr_problem: dict[str, Any] | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    alerting_configured: bool = False
    api_calls: dict[str, int] = field(default_factory=dict)
    duration_ms: float = 0.0
    warnings: list[str] = field(default_factory=list)
    # Proof of replication and the state store (functions/job_monitor/durable.py); None when not run.
    replication: dict[str, Any] | None = None
    state: dict[str, Any] | None = None

    @property
    def swr_unavailable(self) -> bool:
        """Nothing could be read and every gap is 401/403 or unreachable: the monitor is blind."""
        blind = {"auth", "unreachable"}
        return self.repos_scanned == 0 and bool(self.gaps) and all(g.reason in blind for g in self.gaps)

    @property
    def coverage_complete(self) -> bool:
        return not self.gaps

    def _entries(self, category: str) -> list[dict[str, Any]]:
        return [
            {**s.to_dict(), **self.key_notes.get(s.key, {})} for s in self.states if s.category == category
        ]

    # Over 60 lines on purpose: one literal of the report's JSON shape, kept whole so it reads like the document.
    def to_dict(self) -> dict[str, Any]:
        failed = self._entries(FAILED)
        stuck = self._entries(STUCK)
        recovered = [s.to_dict() for s in self.states if s.recovered]
        by_category = {c: 0 for c in CATEGORIES}
        for s in self.states:
            by_category[s.category] += 1
        healthy = not failed and not stuck and self.coverage_complete and self.swr_problem is None
        proof = self.replication or {}
        healthy = healthy and not proof.get("missing") and not proof.get("failed")
        sent = sum(1 for a in self.alerts if a.get("deliveries") and all(d["ok"] for d in a["deliveries"]))
        failed_alerts = sum(1 for a in self.alerts if any(not d["ok"] for d in a.get("deliveries", [])))
        logged_only = sum(1 for a in self.alerts if not a.get("deliveries") and not a.get("dry_run"))
        issued = sum(1 for v in self.key_notes.values() if v.get("resync") == "issued")
        out: dict[str, Any] = {
            "healthy": healthy,
            "status": "swr_unavailable" if self.swr_unavailable else ("healthy" if healthy else "unhealthy"),
            "trigger": self.trigger,
            "dry_run": self.dry_run,
            "now": iso(self.now),
            "window": self.window,
            "jobs_by_status": self.jobs_by_status,
            "keys_by_status": by_category,
            "keys_total": len(self.states),
            "failed": capped(failed),
            "failed_total": len(failed),
            "stuck": capped(stuck),
            "stuck_total": len(stuck),
            "recovered": capped(recovered),
            "recovered_total": len(recovered),
            "pending_total": by_category[PENDING],
            "resync": {
                "enabled": self.resync_enabled,
                "max_attempts": self.max_resync,
                "issued": issued,
                "groups": capped(self.resync_groups),
            },
            "lag": self.lag,
            "repositories_in_scope": self.repos_in_scope,
            "repositories_scanned": self.repos_scanned,
            "coverage_complete": self.coverage_complete,
            "not_scanned": capped([g.to_dict() for g in self.gaps]),
            "not_scanned_total": len(self.gaps),
            "systemic": [g.to_dict() for g in self.systemic],
            "swr_problem": self.swr_problem,
            "alerts_sent": sent,
            "alerts_failed": failed_alerts,
            "alerts_logged_only": logged_only,
            "alerts_total": len(self.alerts),
            "alerting_configured": self.alerting_configured,
            "alerts": capped(self.alerts),
            "api_calls": self.api_calls,
            "duration_ms": round(self.duration_ms, 1),
        }
        if self.replication is not None:
            out["replication"] = self.replication
        if self.state is not None:
            out["state"] = self.state
        if self.warnings:
            out["warnings"] = self.warnings
        return out


def public_view(report: dict[str, Any]) -> dict[str, Any]:
    """What an unauthenticated caller may see (counts only, no names)."""
    keys = (
        "healthy",
        "status",
        "trigger",
        "dry_run",
        "now",
        "jobs_by_status",
        "keys_by_status",
        "failed_total",
        "stuck_total",
        "repositories_scanned",
        "coverage_complete",
        "alerts_sent",
        "alerts_failed",
        "duration_ms",
    )
    out = {k: report[k] for k in keys if k in report}
    proof = report.get("replication")
    if isinstance(proof, dict):
        counts = ("verified", "pending", "missing", "failed", "oldest_pending_age_seconds")
        out["replication"] = {k: proof.get(k) for k in counts}
    return out
