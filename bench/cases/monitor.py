"""Case 6: monitor scaling. One job-monitor poll (a FunctionGraph TIMER event) over 100 repositories with 10,000
historical jobs each (seeded two days in the past, final status, through the emulator's bulk seeding), then the
same with 50 new jobs (one in each of 50 repositories, created 10 minutes ago, succeeded).

Measured: SWR API requests per poll (from the emulator's request log, only those about the benchmark namespace)
and the poll's wall time in process (after a warm-up poll of a tiny namespace, so lazy imports are not counted).
No injected latency: the emulator answers as fast as it can. The reference is what reading every job would
cost: repositories x ceil(jobs / page size) requests.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from typing import Any

from bench import emu
from bench.common import AK, CASES, PROJECT_ID, SK, CaseResult, Metric, require_files, run_child, stats
from bench.context import Ctx

KEYS = ("monitor",)
NAMESPACE = "mon"
WARM_NAMESPACE = "monwarm"
NEW_JOBS = 50
PAGE_SIZE = 50  # MONITOR_PAGE_SIZE default, set explicitly


def timer_event(namespace: str) -> dict[str, Any]:
    return {
        "version": "v1.0",
        "time": datetime.now(timezone.utc).isoformat(),
        "trigger_type": "TIMER",
        "trigger_name": "bench",
        "user_event": json.dumps({"namespaces": [namespace]}),
    }


def _calls(server: Any, since: int) -> dict[str, int]:
    out = {"total": 0, "sync_job": 0, "listing": 0, "other": 0}
    for r in emu.requests_since(server, since):
        path = str(r["path"])
        if not emu.about_namespace(path, NAMESPACE):
            continue
        out["total"] += 1
        kind = "sync_job" if "/sync_job" in path else "listing" if "/v2/manage/repos" in path else "other"
        out[kind] += 1
    return out


def run(ctx: Ctx) -> list[CaseResult]:
    require_files("functions/job_monitor/index.py")
    emu.modules()
    repos = ctx.pick(100, 100, smoke=10)
    jobs_per_repo = ctx.pick(10_000, 1_000, smoke=100)
    new_jobs = min(NEW_JOBS, repos)
    runs = ctx.pick(3, 1, smoke=1)
    case = CaseResult(
        "monitor",
        f"Monitor scaling: one poll, {repos} repositories x {jobs_per_repo:,} old jobs, 0 and 50 new",
    )
    clock = emu.ShiftClock()
    clock.offset = -timedelta(days=2)
    server = emu.start(clock)
    try:
        seeded = emu.seed(
            server,
            namespace=NAMESPACE,
            repositories=repos,
            tags_per_repo=1,
            jobs_per_repo=jobs_per_repo,
            prefix="app",
        )
        emu.seed(
            server, namespace=WARM_NAMESPACE, repositories=2, tags_per_repo=1, jobs_per_repo=10, prefix="app"
        )
        clock.offset = timedelta(0)
        names: list[str] = list(seeded.get("names", []))
        remote = next(r for r in server.state.regions if r != server.state.default_region)
        env = {
            "SWR_ENDPOINT": server.url,
            "CLOUD_SDK_AK": AK,
            "CLOUD_SDK_SK": SK,
            "CLOUD_SDK_PROJECT_ID": PROJECT_ID,
            "MONITOR_NAMESPACES": NAMESPACE,
            "MONITOR_PAGE_SIZE": str(PAGE_SIZE),
        }
        cfg = ctx.tmp / "monitor-ours.json"
        cfg.write_text(
            json.dumps(
                {
                    "module": "functions.job_monitor.index",
                    "warmup": [timer_event(WARM_NAMESPACE)],
                    "events": [timer_event(NAMESPACE)],
                    "body_chars": 200_000,
                }
            ),
            encoding="utf-8",
        )

        def poll() -> dict[str, Any]:
            before = emu.request_seq(server)
            cpu = emu.cpu_ms()
            child = run_child(
                ctx.ours.argv(CASES / "child_invoke_ours.py"), {**env, "BENCH_CONFIG_FILE": str(cfg)}, 600
            )
            res = child.check("job-monitor poll")
            main = res["results"][0]
            if isinstance(main["status"], int) and main["status"] >= 400:
                raise RuntimeError(f"job-monitor answered {main['status']}: {main['body'][:400]}")
            report = json.loads(main["body"]) if main["body"].startswith("{") else {}
            if report.get("coverage_complete") is not True or report.get("repositories_scanned") != repos:
                raise RuntimeError(f"job-monitor did not scan everything: {main['body'][:600]}")
            summary = {k: report.get(k) for k in ("status", "jobs_by_status", "api_calls", "duration_ms")}
            return {
                "ms": main["ms"],
                "calls": _calls(server, before),
                "report": summary,
                "client_cpu_ms": res.get("cpu_ms"),
                "emulator_cpu_ms": emu.cpu_ms() - cpu,
            }

        quiet = [poll() for _ in range(runs)]
        now = datetime.now(timezone.utc)
        for name in names[:new_jobs]:
            server.state.add_job(
                NAMESPACE,
                name,
                "v0",
                remote,
                NAMESPACE,
                status="success",
                created_at=now - timedelta(minutes=10),
            )
        busy = [poll() for _ in range(runs)]
    finally:
        server.stop()

    full_read = repos * math.ceil(jobs_per_repo / PAGE_SIZE)
    for label, samples in ((f"{0} new jobs", quiet), (f"{new_jobs} new jobs", busy)):
        case.metrics.append(
            Metric(
                f"requests per poll, {label}",
                "requests",
                ours=stats([float(s["calls"]["total"]) for s in samples]),
                ratio_override=stats([float(s["calls"]["total"]) for s in samples]).median / full_read,
                goal_text=f"info (ratio: vs reading all history, {full_read:,} requests)",
                digits=0,
            )
        )
        case.metrics.append(
            Metric(
                f"wall time per poll, {label}",
                "ms",
                ours=stats([float(s["ms"]) for s in samples]),
                goal_text="info",
            )
        )
    case.details = {
        "repositories": repos,
        "old_jobs_per_repo": jobs_per_repo,
        "old_jobs_total": repos * jobs_per_repo,
        "new_jobs": new_jobs,
        "page_size": PAGE_SIZE,
        "full_history_requests": full_read,
        "calls_0_new": quiet[0]["calls"],
        "calls_50_new": busy[0]["calls"],
        "cpu_ms_0_new": {k: quiet[0][k] for k in ("client_cpu_ms", "emulator_cpu_ms")},
        "cpu_ms_50_new": {k: busy[0][k] for k in ("client_cpu_ms", "emulator_cpu_ms")},
        "report_0_new": quiet[0]["report"],
        "report_50_new": busy[0]["report"],
        "emulator_tcp_nodelay": emu.tcp_nodelay(),
        "runs": runs,
    }
    if ctx.quick or ctx.smoke:
        case.reason = f"reduced data ({jobs_per_repo:,} old jobs per repository, not 10,000)"
    return [case]
