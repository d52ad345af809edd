"""The health page's data, read from the state store only (no SWR request on page load)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from functions.job_monitor.health.model import Cell, Health, RunSummary
from shared.state import StateStore, StateUnavailable, intents


def cell_state(cell: intents.Cell, now: datetime, stuck_after: float) -> str:
    """verified / failed / missing as settled; an open intent is ``syncing`` once its job is known, ``stuck``
    when it has been open longer than ``stuck_after`` seconds, else ``pending``."""
    if cell.status in ("verified", "failed", "missing"):
        return cell.status
    if now - cell.created_at > timedelta(seconds=stuck_after):
        return "stuck"
    return "syncing" if cell.job_id is not None else "pending"


def _mapping(value: Any) -> dict[str, Any]:
    """A stored report's sub-object, or {} when it is absent or of another shape."""
    return value if isinstance(value, dict) else {}


def _run(raw: dict[str, Any], at: datetime) -> RunSummary:
    proof = _mapping(raw.get("replication"))
    lag = _mapping(proof.get("lag_seconds"))
    scanned, in_scope = raw.get("repositories_scanned"), raw.get("repositories_in_scope")
    return RunSummary(
        at=at,
        status=str(raw.get("status", "?")),
        coverage=f"{scanned}/{in_scope} repositories" if in_scope is not None else "?",
        alerts=int(raw.get("alerts_total") or 0),
        verified=int(proof.get("verified") or 0),
        pending=int(proof.get("pending") or 0),
        missing=int(proof.get("missing") or 0),
        lag={
            str(region): {
                k: float(v) for k, v in stats.items() if k in ("p50", "p95") and isinstance(v, (int, float))
            }
            for region, stats in lag.items()
            if isinstance(stats, dict)
        },
    )


def read(state: StateStore, now: datetime, stuck_after: float, max_cells: int, runs: int) -> Health:
    """The matrix and the recent runs; a store that fails part-way gives what was read and says so."""
    from functions.job_monitor.durable import recent_reports

    cells: list[Cell] = []
    summaries: list[RunSummary] = []
    degraded, truncated = "", 0
    try:
        stored, truncated = intents.cells(state, max_cells)
        cells = [
            Cell(
                c.namespace,
                c.repository,
                c.region,
                c.target_namespace,
                cell_state(c, now, stuck_after),
                c.tag,
                c.last_success,
                c.last_failure,
                c.job_id,
                c.delivery_id,
            )
            for c in stored
        ]
        summaries = [_run(r.report, r.at) for r in recent_reports(state, runs)]
    except StateUnavailable as err:
        degraded = f"could not be read completely ({err})"
    return Health(now, cells, summaries, degraded, truncated)
