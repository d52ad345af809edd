"""What the health page shows, as plain data: built from the state store (view.py), rendered by page.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.record import field, record

STATES: tuple[str, ...] = ("verified", "pending", "syncing", "failed", "missing", "stuck")


@record(frozen=True)
class Cell:
    """One (repository, target region) of the matrix: the state of its newest tag there."""

    namespace: str
    repository: str
    region: str
    target_namespace: str
    state: str  # one of STATES
    tag: str
    last_success: datetime | None = None
    last_failure: str = ""  # the reason of the newest failure, "" if none
    job_id: int | None = None
    delivery_id: str = ""

    @property
    def repo(self) -> str:
        return f"{self.namespace}/{self.repository}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "repository": self.repository,
            "region": self.region,
            "target_namespace": self.target_namespace,
            "state": self.state,
            "tag": self.tag,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "last_failure": self.last_failure or None,
            "job_id": self.job_id,
            "delivery_id": self.delivery_id or None,
        }


@record(frozen=True)
class RunSummary:
    """One monitor run as the health page shows it."""

    at: datetime
    status: str
    coverage: str  # e.g. "12/12 repositories"
    alerts: int
    verified: int = 0
    pending: int = 0
    missing: int = 0
    lag: dict[str, dict[str, float]] = field(default_factory=dict)  # region -> {"p50": s, "p95": s}

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "status": self.status,
            "coverage": self.coverage,
            "alerts": self.alerts,
            "verified": self.verified,
            "pending": self.pending,
            "missing": self.missing,
            "lag": self.lag,
        }


@record
class Health:
    """The page's data: the matrix, the recent runs (newest first), when it was read, and any store problem."""

    generated_at: datetime
    cells: list[Cell]
    runs: list[RunSummary]
    degraded: str = ""  # the state store could not be read completely: said on the page, never hidden
    truncated: int = 0  # cells left out beyond the page's limit

    @property
    def regions(self) -> list[str]:
        return sorted({c.region for c in self.cells})

    @property
    def namespaces(self) -> list[str]:
        return sorted({c.namespace for c in self.cells})

    def filtered(self, namespace: str = "", state: str = "", region: str = "") -> Health:
        cells = [
            c
            for c in self.cells
            if (not namespace or c.namespace == namespace)
            and (not state or c.state == state)
            and (not region or c.region == region)
        ]
        return Health(self.generated_at, cells, self.runs, self.degraded, self.truncated)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for cell in self.cells:
            out[cell.state] = out.get(cell.state, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "counts": self.counts(),
            "cells": [c.to_dict() for c in self.cells],
            "runs": [r.to_dict() for r in self.runs],
            "degraded": self.degraded or None,
            "truncated": self.truncated,
        }
