"""Case: the health page at scale. 1,000 repositories x 5 target regions (5,000 cells, written through the
intents API into an in-memory state store) and 50 stored runs; measured in process: reading the store and
rendering the HTML page (median of the runs), the page's bytes, and the JSON's bytes. There is no SDK
counterpart (no peer renders a per-tag proof matrix); the figures are absolute."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from bench.common import CaseResult, Metric, stats
from bench.context import Ctx

KEYS = ("health",)
REGIONS = ("ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "cn-east-3", "cn-south-1")
STATUSES = ("verified", "verified", "verified", "pending", "failed", "missing")


def run(ctx: Ctx) -> list[CaseResult]:
    from functions.job_monitor.durable import RunReport
    from functions.job_monitor.health import page, view
    from shared.state import StateStore, intents
    from shared.state.memory import MemoryBackend

    repos = ctx.pick(1000, 200, smoke=20)
    runs = ctx.pick(20, 5, smoke=2)
    case = CaseResult(
        "health", f"Health page: {repos:,} repositories x {len(REGIONS)} regions, from the store"
    )
    store = StateStore(MemoryBackend(10 * repos * len(REGIONS) + 1000))
    now = datetime.now(timezone.utc)
    for r in range(repos):
        for n, region in enumerate(REGIONS):
            status = STATUSES[(r + n) % len(STATUSES)]
            created = now - timedelta(minutes=(r * 7 + n) % 300)
            intent = intents.Intent(
                id=intents.intent_id("team", f"app-{r:04d}", "v1", region, "team", False, ""),
                namespace="team",
                repository=f"app-{r:04d}",
                tag="v1",
                region=region,
                target_namespace="team",
                created_at=created,
                last_action_at=created,
                status=status,
                reason="job failed: target namespace does not exist" if status == "failed" else "",
                job_id=r if status != "pending" else None,
            )
            intents.record(store, intent)
    for i in range(50):
        report = {
            "status": "healthy",
            "repositories_scanned": repos,
            "repositories_in_scope": repos,
            "alerts_total": i % 3,
            "replication": {
                "verified": 3,
                "pending": 1,
                "missing": 1,
                "lag_seconds": {region: {"p50": 30.0 + i, "p95": 90.0 + i} for region in REGIONS},
            },
        }
        store.push_recent(RunReport(at=now - timedelta(minutes=5 * i), report=report), "runs", 50, 86400)

    read_ms, render_ms = [], []
    html = ""
    for _ in range(runs):
        started = time.perf_counter()
        health = view.read(store, now, 1800, repos * len(REGIONS), 20)
        read_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        html = page.render(health, health, now, {}, {})
        render_ms.append((time.perf_counter() - started) * 1000)
    import json

    json_bytes = len(json.dumps(health.to_dict()).encode())
    assert len(health.cells) == repos * len(REGIONS), "every cell read"
    case.metrics = [
        Metric("store read (5,000 cells + runs)", "ms", ours=stats(read_ms), digits=1),
        Metric("HTML render", "ms", ours=stats(render_ms), digits=1),
        Metric("page size", "KiB", ours=stats([len(html.encode()) / 1024]), digits=0),
        Metric("JSON size", "KiB", ours=stats([json_bytes / 1024]), digits=0),
    ]
    case.details = {"cells": len(health.cells), "runs_measured": runs, "html_bytes": len(html.encode())}
    return [case]
