"""Cases 1 and 3: cold start and its peak RSS, push-sync vs the SDK, fresh processes, alternating.

Ours: a fresh interpreter imports ``functions.push_sync.index`` and handles one APIG event carrying a Harbor
PUSH_ARTIFACT; configured like production with SWR_ENDPOINT (the loopback server), CLOUD_SDK_AK/SK (signing, as
the SDK does), WEBHOOK_ALLOW_UNAUTHENTICATED=true and one SYNC_RULES rule. SDK: a fresh interpreter builds
``SwrClient`` (BasicCredentials + endpoint override) and calls ``create_manual_image_sync_repo``. Every run must
put exactly one correctly signed ``POST .../sync_images`` on the loopback server, or the case fails.

Both children run with ``-I -S`` and an explicit sys.path (no ``.pth`` hooks, no user site), after one untimed
run each so that both have warm ``.pyc`` files. Timed: spawn → handler/SDK call returned (the same monotonic
clock in parent and child), and spawn → exit.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from bench.common import (
    AK,
    CASES,
    NAMESPACE,
    PROJECT_ID,
    REPOSITORY,
    SK,
    TARGET_NAMESPACE,
    TARGET_REGION,
    CaseResult,
    ChildRun,
    Interp,
    Metric,
    alternate,
    pair_ratios,
    require_files,
    run_child,
    stats,
)
from bench.context import Ctx
from bench.events import apig, harbor_push, sync_rules

KEYS = ("cold", "rss")
# (variant of child_floor_deps.py, row label): every floor also imports the stdlib HTTP stack a function needs.
FLOOR_VARIANTS = (
    (
        "pydantic+structlog",
        "floor of the decided stack: pydantic model + structlog line + stdlib HTTP (no project code)",
    ),
    ("pydantic", "floor without structlog: pydantic model + json.dumps line + stdlib HTTP"),
    ("structlog", "floor without pydantic: dataclass + structlog line + stdlib HTTP"),
    ("stdlib", "floor of the stdlib alone: dataclass + json.dumps line + stdlib HTTP"),
)
PUSH_SYNC = "functions/push_sync/index.py"
TAG = "v1.0.0"
EXPORT_TOKEN = "bench-export-token-0123456789"
# The #22 goals, each a ratio measured in this run (docs/benchmarks.md, "Goals").
GOAL_COLD_VS_FLOOR = 1.10
GOAL_HANDLE_VS_SDK = 1.0
GOAL_RSS_VS_FLOOR = 1.03


def other_functions() -> dict[str, tuple[str, dict[str, str], dict[str, Any]]]:
    """job-monitor (a TIMER over one repository) and policy-export (an APIG GET of one namespace): their first
    invocation, each making signed requests to the loopback server (which answers ``[]``)."""
    timer = {
        "version": "v1.0",
        "time": "2026-01-01T00:00:00Z",
        "trigger_type": "TIMER",
        "trigger_name": "bench",
    }
    export = {
        "httpMethod": "GET",
        "path": "/policy-export",
        "headers": {"authorization": f"Bearer {EXPORT_TOKEN}", "x-request-id": "bench"},
        "queryStringParameters": {"namespace": NAMESPACE, "format": "json"},
        "body": "",
        "isBase64Encoded": False,
    }
    return {
        "job-monitor": ("functions.job_monitor.index", {"MONITOR_REPOS": f"{NAMESPACE}/{REPOSITORY}"}, timer),
        "policy-export": ("functions.policy_export.index", {"EXPORT_TOKEN": EXPORT_TOKEN}, export),
    }


def ours_env(endpoint: str) -> dict[str, str]:
    return {
        "SWR_ENDPOINT": endpoint,
        "CLOUD_SDK_AK": AK,
        "CLOUD_SDK_SK": SK,
        "CLOUD_SDK_PROJECT_ID": PROJECT_ID,
        "WEBHOOK_ALLOW_UNAUTHENTICATED": "true",
        "SYNC_RULES": sync_rules(),
        "BENCH_EVENT": json.dumps(apig(harbor_push(TAG))),
    }


def sdk_env(endpoint: str) -> dict[str, str]:
    cfg = {
        "endpoint": endpoint,
        "ak": AK,
        "sk": SK,
        "project_id": PROJECT_ID,
        "namespace": NAMESPACE,
        "repository": REPOSITORY,
        "tag": TAG,
        "target_region": TARGET_REGION,
        "target_namespace": TARGET_NAMESPACE,
    }
    return {"BENCH_SDK": json.dumps(cfg)}


def _check_wire(ctx: Ctx, who: str) -> None:
    seen = ctx.loopback().take()
    posts = [s for s in seen if s.method == "POST" and s.path.endswith("/sync_images")]
    bad = [s.signature for s in seen if s.signature != "valid"]
    if len(posts) != 1 or len(seen) != 1 or bad:
        described = [f"{s.method} {s.path} ({s.signature})" for s in seen]
        raise RuntimeError(f"{who}: expected one signed POST .../sync_images, the server saw {described}")


def _sample(run: ChildRun) -> dict[str, float]:
    res = run.result or {}
    return {
        "to_response_ms": (float(res["t_done"]) - run.spawned_at) * 1000.0,
        "wall_ms": run.wall_ms,
        "import_ms": float(res.get("import_ms", 0.0)),
        "handle_ms": float(res.get("handle_ms", 0.0)),
        "maxrss_kib": float(res.get("maxrss_kib", 0)),
        "vmhwm_kib": float(res.get("vmhwm_kib") or 0),
        "modules": float(res.get("modules", 0)),
    }


def run_ours(ctx: Ctx, flags: tuple[str, ...] = (), interp: Interp | None = None) -> ChildRun:
    run = run_child(
        (interp or ctx.ours).argv(CASES / "child_cold_ours.py", flags=flags),
        ours_env(ctx.loopback().url),
        timeout=60,
    )
    res = run.check("push-sync cold start")
    if not (isinstance(res.get("status"), int) and 200 <= res["status"] < 300):
        raise RuntimeError(f"push-sync answered {res.get('status')}: {res.get('body')}")
    _check_wire(ctx, "push-sync")
    return run


def run_function(ctx: Ctx, function: str, flags: tuple[str, ...] = ()) -> ChildRun:
    """The cold start of job-monitor or policy-export: every request it made reached the server, signed."""
    module, extra, event = other_functions()[function]
    env = {
        **ours_env(ctx.loopback().url),
        **extra,
        "BENCH_EVENT": json.dumps(event),
        "BENCH_MODULE": module,
        "BENCH_FUNCTION": function,
    }
    run = run_child(ctx.ours.argv(CASES / "child_cold_ours.py", flags=flags), env, timeout=60)
    res = run.check(f"{function} cold start")
    if not (isinstance(res.get("status"), int) and 200 <= res["status"] < 300):
        raise RuntimeError(f"{function} answered {res.get('status')}: {res.get('body')}")
    seen = ctx.loopback().take()
    if not seen or any(s.signature != "valid" for s in seen):
        raise RuntimeError(f"{function}: expected signed requests, the server saw {[s.path for s in seen]}")
    return run


def run_sdk(ctx: Ctx, flags: tuple[str, ...] = ()) -> ChildRun:
    assert ctx.sdk is not None
    run = run_child(
        ctx.sdk.interp().argv(CASES / "child_cold_sdk.py", flags=flags),
        sdk_env(ctx.loopback().url),
        timeout=60,
    )
    res = run.check("SDK cold start")
    if res.get("status") != 200:
        raise RuntimeError(f"SDK call answered {res.get('status')}")
    _check_wire(ctx, "SDK")
    return run


def run(ctx: Ctx) -> list[CaseResult]:
    require_files(PUSH_SYNC)
    cold = CaseResult(
        "cold", "Cold start: fresh process, import + handle one push event (one sync_images call)"
    )
    rss = CaseResult("rss", "Peak RSS of the cold start (ru_maxrss at exit of the child)")
    sdk = ctx.sdk is not None

    # Untimed first runs: compile .pyc for both sides, and prove both paths work end to end.
    first_ours = run_ours(ctx)
    cold.details["ours_answer"] = (first_ours.result or {}).get("body")
    if sdk:
        run_sdk(ctx)

    # The packaged FunctionGraph tree (from the size case), run on its own: the deploy layout.
    tree = ctx.shared.get("push_sync_tree")
    deploy = Interp("deploy", sys.executable, [str(tree)]) if tree else None
    if deploy is not None:
        run_ours(ctx, interp=deploy)
    deploy_runs: list[dict[str, float]] = []

    def ours_then_deploy(_i: int) -> dict[str, float]:
        sample = _sample(run_ours(ctx))
        if deploy is not None:
            deploy_runs.append(_sample(run_ours(ctx, interp=deploy)))
        return sample

    ours_runs, sdk_runs = alternate(
        ctx.runs, ours_then_deploy, (lambda _i: _sample(run_sdk(ctx))) if sdk else None
    )
    floor_runs = ctx.pick(max(3, ctx.runs // 2), 3, smoke=1)
    floor = [
        _sample(run_child(ctx.ours.argv(CASES / "child_empty.py"), timeout=30)) for _ in range(floor_runs)
    ]
    # The least each dependency stack pays (no project code), each alternated with the SDK for its own ratio:
    # the decided stack first, then what each alternative would start from (docs/benchmarks.md, "Floors").
    floors: dict[str, tuple[list[dict[str, float]], list[dict[str, float]]]] = {}
    for variant, _label in FLOOR_VARIANTS:
        argv = ctx.ours.argv(CASES / "child_floor_deps.py", variant)
        run_child(argv, timeout=30)
        floors[variant] = alternate(
            floor_runs, _floor_runner(argv), (lambda _i: _sample(run_sdk(ctx))) if sdk else None
        )

    def col(samples: list[dict[str, float]], key: str) -> list[float]:
        return [s[key] for s in samples]

    # The other two functions, each alternated with the decided-stack floor (their goal is that floor).
    decided_argv = ctx.ours.argv(CASES / "child_floor_deps.py", FLOOR_VARIANTS[0][0])
    others: dict[str, tuple[list[dict[str, float]], list[dict[str, float]]]] = {}
    for function in other_functions():
        run_function(ctx, function)  # untimed: .pyc and a proof that it works
        others[function] = alternate(
            floor_runs, lambda _i, f=function: _sample(run_function(ctx, f)), _floor_runner(decided_argv)
        )
    decided = floors[FLOOR_VARIANTS[0][0]][0]

    def metric(key: str, name: str, unit: str, goal: float | None, goal_text: str, digits: int = 1) -> Metric:
        return _paired_metric(name, (ours_runs, sdk_runs), key, unit, digits, goal, goal_text)

    cold.metrics = [
        _vs_floor(
            "push-sync: spawn → response, vs the decided-stack floor", ours_runs, decided, "to_response_ms"
        ),
        *(
            _vs_floor(f"{f}: spawn → response, vs the decided-stack floor", o, fl, "to_response_ms")
            for f, (o, fl) in others.items()
        ),
        metric("to_response_ms", "spawn → response returned (push-sync)", "ms", None, "info"),
        metric("wall_ms", "spawn → process exit", "ms", None, "info"),
        metric("import_ms", "import of the handler / SDK (in process)", "ms", None, "info"),
        metric(
            "handle_ms",
            "first invocation in process: handle the event / build client + sign + call",
            "ms",
            GOAL_HANDLE_VS_SDK,
            f"≤ {GOAL_HANDLE_VS_SDK:.2f}",
        ),
        *(
            Metric(f"{f}: first invocation in process (handle)", "ms", ours=stats(col(o, "handle_ms")))
            for f, (o, _fl) in others.items()
        ),
        *(
            _paired_metric(label, floors[variant], "to_response_ms", "ms")
            for variant, label in FLOOR_VARIANTS
        ),
        Metric(
            "empty interpreter, same flags (floor)",
            "ms",
            ours=stats(col(floor, "to_response_ms")),
            goal_text="info",
        ),
    ]
    if deploy_runs:
        cold.metrics.insert(
            1,
            _paired_metric(
                "spawn → response, ours from the packaged FunctionGraph tree (deploy layout)",
                (deploy_runs, sdk_runs),
                "to_response_ms",
                "ms",
            ),
        )
        cold.details["deploy_tree"] = str(tree)
        cold.details["deploy_maxrss_kib"] = stats(col(deploy_runs, "maxrss_kib")).median
    cold.details["modules_loaded"] = {
        "ours": stats(col(ours_runs, "modules")).median,
        "sdk": stats(col(sdk_runs, "modules")).median if sdk else None,
    }
    rss.metrics = [
        _vs_floor(
            "push-sync: peak RSS vs the decided-stack floor",
            ours_runs,
            decided,
            "maxrss_kib",
            GOAL_RSS_VS_FLOOR,
            0,
        ),
        *(
            _vs_floor(f"{f}: peak RSS vs the decided-stack floor", o, fl, "maxrss_kib", GOAL_RSS_VS_FLOOR, 0)
            for f, (o, fl) in others.items()
        ),
        metric("maxrss_kib", "peak RSS (ru_maxrss)", "KiB", None, "info", digits=0),
        metric("vmhwm_kib", "peak RSS of the own address space (VmHWM, cross-check)", "KiB", None, "info", 0),
        *(
            _paired_metric(label, floors[variant], "maxrss_kib", "KiB", 0)
            for variant, label in FLOOR_VARIANTS
        ),
        Metric(
            "empty interpreter, same flags (ru_maxrss; includes the spawner's ~10 MB floor)",
            "KiB",
            ours=stats(col(floor, "maxrss_kib")),
            goal_text="info",
            digits=0,
            note=f"its VmHWM: {stats(col(floor, 'vmhwm_kib')).median:,.0f} KiB",
        ),
    ]
    if not sdk:
        for case in (cold, rss):
            case.status = "partial"
            case.reason = "SDK side skipped (no bench/.sdk-venv)"
    _store_samples(ctx, ours_runs, sdk_runs)
    return [cold, rss]


def _vs_floor(
    label: str,
    ours: list[dict[str, float]],
    floor: list[dict[str, float]],
    key: str,
    goal: float = GOAL_COLD_VS_FLOOR,
    digits: int = 1,
) -> Metric:
    """ours / the decided stack's floor (pydantic model + structlog line + stdlib HTTP, no project code)."""
    ours_v, floor_v = [s[key] for s in ours], [s[key] for s in floor]
    ratio = stats(ours_v).median / stats(floor_v).median
    return Metric(
        label,
        "KiB" if key == "maxrss_kib" else "ms",
        ours=stats(ours_v),
        ratio_override=ratio,
        goal=goal,
        goal_text=f"≤ {goal:.2f} x floor ({stats(floor_v).median:,.{digits}f})",
        digits=digits,
    )


def _floor_runner(argv: list[str]) -> Callable[[int], dict[str, float]]:
    return lambda _i: _sample(run_child(argv, timeout=30))


def _paired_metric(
    label: str,
    runs: tuple[list[dict[str, float]], list[dict[str, float]]],
    key: str,
    unit: str,
    digits: int = 1,
    goal: float | None = None,
    goal_text: str = "info",
) -> Metric:
    """One row from (ours, SDK) samples taken alternately; the SDK side may be empty (no SDK venv)."""
    ours_v, sdk_v = ([s[key] for s in side] for side in runs)
    return Metric(
        label,
        unit,
        ours=stats(ours_v),
        sdk=stats(sdk_v) if sdk_v else None,
        pair_ratios=pair_ratios(ours_v, sdk_v) if sdk_v else None,
        goal=goal,
        goal_text=goal_text,
        digits=digits,
    )


def _store_samples(ctx: Ctx, ours: list[dict[str, Any]], sdk: list[dict[str, Any]]) -> None:
    ctx.shared["cold_samples"] = {"ours": ours, "sdk": sdk}
