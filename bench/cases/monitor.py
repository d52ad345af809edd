"""Case 6: monitor scaling (one job-monitor poll over 100 repositories x 10,000 old jobs, 0 and 50 new)."""

from __future__ import annotations

from bench.common import CaseResult, NotAvailable, require_files
from bench.context import Ctx

KEYS = ("monitor",)


def run(ctx: Ctx) -> list[CaseResult]:
    require_files("functions/job_monitor/index.py", "localdev/emulator/server.py", "docs/emulator.md")
    raise NotAvailable("wiring pending")
