"""Case 5: export scaling. 1,000 repositories (one auto-sync policy each) on the emulator, 20 ms injected on
every SWR API call (a delay fault), AK/SK signatures verified.

Ours: the policy-export FunctionGraph handler in a fresh process (one small warm-up export first, so lazy imports
are not counted), one GET ``?namespace=<ns>`` export timed in process; EXPORT_CONCURRENCY=16.
Ideal: ceil(repositories / concurrency) x latency for the per-repository calls, plus one latency per listing page
(pages are sequential).
SDK: the same listing, then ``list_image_auto_sync_repos_details`` per repository, sequentially (what a script on
the SDK does without writing its own thread pool).
"""

from __future__ import annotations

import json
import math
from typing import Any

from bench import emu
from bench.common import (
    AK,
    CASES,
    PROJECT_ID,
    SK,
    CaseResult,
    Metric,
    alternate,
    pair_ratios,
    require_files,
    run_child,
    stats,
)
from bench.context import Ctx

KEYS = ("export",)
NAMESPACE = "bulk"
WARM_NAMESPACE = "warmup"
FULL_REPOSITORIES = 1000
LATENCY = 0.020
CONCURRENCY = 16
PAGE = 100


def get_event(namespace: str) -> dict[str, Any]:
    return {
        "httpMethod": "GET",
        "path": "/",
        "headers": {"accept": "application/json"},
        "queryStringParameters": {"namespace": namespace, "format": "json"},
        "pathParameters": {},
        "requestContext": {"requestId": f"bench-export-{namespace}", "stage": "RELEASE"},
        "body": "",
        "isBase64Encoded": False,
    }


def setup(repositories: int) -> Any:
    server = emu.start()
    emu.seed(server, namespace=NAMESPACE, repositories=repositories, tags_per_repo=1, prefix="app")
    emu.seed(server, namespace=WARM_NAMESPACE, repositories=3, tags_per_repo=1, prefix="app")
    remote = next(r for r in server.state.regions if r != server.state.default_region)
    width = max(4, len(str(repositories)))
    for i in range(repositories):
        server.state.add_sync_repo(NAMESPACE, f"app-{i:0{width}d}", remote, NAMESPACE)
    server.state.add_fault(r"^/v2/", delay=LATENCY, times=None)
    return server


def _calls(server: Any, since: int) -> int:
    """API requests about the benchmark namespace since ``since`` (the warm-up export is not counted)."""
    return sum(1 for r in emu.requests_since(server, since) if emu.about_namespace(str(r["path"]), NAMESPACE))


def run(ctx: Ctx) -> list[CaseResult]:
    require_files("functions/policy_export/index.py")
    emu.modules()
    case = CaseResult("export", "Export scaling: policy-export over 1,000 repositories, 20 ms per call")
    runs = ctx.pick(min(ctx.runs, 3), 1, smoke=1)
    repositories = ctx.pick(FULL_REPOSITORIES, FULL_REPOSITORIES, smoke=50)
    server = setup(repositories)
    try:
        env = {
            "SWR_ENDPOINT": server.url,
            "CLOUD_SDK_AK": AK,
            "CLOUD_SDK_SK": SK,
            "CLOUD_SDK_PROJECT_ID": PROJECT_ID,
            "EXPORT_ALLOW_UNAUTHENTICATED": "true",
            "EXPORT_CONCURRENCY": str(CONCURRENCY),
            "EXPORT_REPO_PAGE_SIZE": str(PAGE),
        }
        cfg = ctx.tmp / "export-ours.json"
        cfg.write_text(
            json.dumps(
                {
                    "module": "functions.policy_export.index",
                    "warmup": [get_event(WARM_NAMESPACE)],
                    "events": [get_event(NAMESPACE)],
                    "body_chars": 400,
                }
            ),
            encoding="utf-8",
        )

        def ours(_i: int) -> dict[str, Any]:
            before = emu.request_seq(server)
            cpu = emu.cpu_ms()
            child = run_child(
                ctx.ours.argv(CASES / "child_invoke_ours.py"), {**env, "BENCH_CONFIG_FILE": str(cfg)}, 600
            )
            res = child.check("policy-export")
            warm, main = res["warmup"][0], res["results"][0]
            for r in (warm, main):
                if r["status"] != 200:
                    raise RuntimeError(f"policy-export answered {r['status']}: {r['body']}")
            headers = {k.lower(): v for k, v in main["headers"].items()}
            total = int(headers.get("x-export-total", -1))
            if total != repositories or headers.get("x-export-errors") not in ("0", None):
                raise RuntimeError(
                    f"policy-export exported {total} policies, errors {headers.get('x-export-errors')}"
                )
            return {
                "ms": main["ms"],
                "calls": _calls(server, before),
                "policies": total,
                "client_cpu_ms": res.get("cpu_ms"),
                "emulator_cpu_ms": emu.cpu_ms() - cpu,
            }

        def sdk(_i: int) -> dict[str, Any]:
            assert ctx.sdk is not None
            before = emu.request_seq(server)
            cpu = emu.cpu_ms()
            sdk_cfg = {
                "endpoint": server.url,
                "ak": AK,
                "sk": SK,
                "project_id": PROJECT_ID,
                "namespace": NAMESPACE,
            }
            child = run_child(
                ctx.sdk.interp().argv(CASES / "child_export_sdk.py"), {"BENCH_SDK": json.dumps(sdk_cfg)}, 600
            )
            res = child.check("SDK export loop")
            if res["policies"] != repositories:
                raise RuntimeError(f"SDK loop found {res['policies']} policies, expected {repositories}")
            res["server_calls"] = _calls(server, before)
            res["emulator_cpu_ms"] = emu.cpu_ms() - cpu
            return res

        def floor() -> float:
            floor_env = {**env, "BENCH_NAMESPACE": NAMESPACE, "BENCH_CONCURRENCY": str(CONCURRENCY)}
            child = run_child(ctx.ours.argv(CASES / "child_export_floor.py"), floor_env, 600)
            return float(child.check("export floor")["ms"])

        ours_runs, sdk_runs = alternate(runs, ours, sdk if ctx.sdk is not None else None)
        floors = [floor() for _ in range(runs)]
    finally:
        server.stop()

    pages = math.ceil(repositories / PAGE)
    ideal_ms = (math.ceil(repositories / CONCURRENCY) + pages) * LATENCY * 1000
    o = [float(r["ms"]) for r in ours_runs]
    s = [float(r["ms"]) for r in sdk_runs]
    ours_stats = stats(o)
    case.metrics = [
        Metric(
            f"wall time, {repositories:,} repositories (ours: concurrency {CONCURRENCY}; SDK: sequential loop)",
            "ms",
            ours=ours_stats,
            sdk=stats(s) if s else None,
            pair_ratios=pair_ratios(o, s) if s else None,
            goal_text="info",
            digits=0,
        ),
        Metric(
            f"ours vs ideal ceil(N/{CONCURRENCY}) x 20 ms + {pages} listing pages x 20 ms = {ideal_ms:,.0f} ms",
            "ms",
            ours=ours_stats,
            ratio_override=ours_stats.median / ideal_ms,
            goal=1.15,
            goal_text="≤ 1.15 x ideal",
            digits=0,
            note="the ratio column is ours / ideal here",
        ),
        Metric(
            f"ours vs the same requests through a bare {CONCURRENCY}-thread pool (this machine's floor)",
            "ms",
            ours=ours_stats,
            ratio_override=ours_stats.median / stats(floors).median,
            goal=1.03,
            goal_text="≤ 1.03 x bare pool",
            digits=0,
            note=f"floor median {stats(floors).median:,.0f} ms; the ratio column is ours / floor here",
        ),
        Metric(
            "SWR API requests per export",
            "requests",
            ours=stats([float(r["calls"]) for r in ours_runs]),
            sdk=stats([float(r["server_calls"]) for r in sdk_runs]) if sdk_runs else None,
            goal_text="info",
            digits=0,
        ),
    ]
    case.details = {
        "repositories": repositories,
        "latency_ms": LATENCY * 1000,
        "concurrency": CONCURRENCY,
        "listing_pages": pages,
        "ideal_ms": ideal_ms,
        "sdk_sequential_floor_ms": (repositories + pages) * LATENCY * 1000,
        "ours_listing_pages": ours_runs[0]["calls"] - repositories if ours_runs else None,
        "runs": runs,
        "floor_ms": floors,
        "ours_runs": ours_runs,
        "sdk_runs": sdk_runs,
        "emulator_tcp_nodelay": emu.tcp_nodelay(),
    }
    if ctx.sdk is None:
        case.status, case.reason = "partial", "SDK side skipped (no bench/.sdk-venv)"
    return [case]
