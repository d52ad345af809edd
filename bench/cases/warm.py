"""Case 4: warm per-event cost, no network.

Ours: the push-sync handler in a warm process (after warm-up events) with the transport stubbed to answer ``[]``
without I/O: parse the APIG event, route it through the rules, build and sign the ``sync_images`` request, read
the answer, log, build the APIG response. Measured for one Harbor event, and for a 100-event Distribution
envelope (100 manifest pushes to 100 repositories → 100 requests), in µs per event.

SDK: the same requests through the SDK client's own pipeline (model objects → http_info → build → sign; the
HTTP client's ``do_request_sync`` stubbed) — the SDK does no webhook parsing or routing, it is handed the
request. Also each side's signer alone over a prepared request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.cases import cold
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
    Metric,
    alternate,
    pair_ratios,
    require_files,
    run_child,
    stats,
)
from bench.context import Ctx
from bench.events import DIST_MEDIA_TYPE, apig, distribution_envelope, harbor_push

KEYS = ("warm",)
ENVELOPE = 100


def _sizes(ctx: Ctx) -> dict[str, int]:
    if ctx.smoke:
        return {"single": 10, "envelopes": 1, "warmup": 3, "sign_iterations": 100}
    if ctx.quick:
        return {"single": 200, "envelopes": 5, "warmup": 30, "sign_iterations": 2000}
    return {"single": 1000, "envelopes": 20, "warmup": 100, "sign_iterations": 10000}


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def ours_config(ctx: Ctx, run: int) -> Path:
    n = _sizes(ctx)
    return _write(
        ctx.tmp / f"warm-ours-{run}.json",
        {
            "warmup": [apig(harbor_push(f"w{run}.{i}"), request_id=f"w{i}") for i in range(n["warmup"])]
            + [
                apig(distribution_envelope(ENVELOPE, f"w{run}.{i}"), content_type=DIST_MEDIA_TYPE)
                for i in range(2)
            ],
            "single": [apig(harbor_push(f"v{run}.{i}"), request_id=f"s{i}") for i in range(n["single"])],
            "envelopes": [
                apig(distribution_envelope(ENVELOPE, f"e{run}.{i}"), content_type=DIST_MEDIA_TYPE)
                for i in range(n["envelopes"])
            ],
            "envelope_size": ENVELOPE,
            "sign_iterations": n["sign_iterations"],
        },
    )


def sdk_config(ctx: Ctx) -> Path:
    n = _sizes(ctx)
    return _write(
        ctx.tmp / "warm-sdk.json",
        {
            **n,
            "envelope_size": ENVELOPE,
            "ak": AK,
            "sk": SK,
            "project_id": PROJECT_ID,
            "namespace": NAMESPACE,
            "repository": REPOSITORY,
            "target_region": TARGET_REGION,
            "target_namespace": TARGET_NAMESPACE,
        },
    )


def _check(res: dict[str, Any], who: str) -> dict[str, Any]:
    if res["single_signed"] != res["single_events"]:
        raise RuntimeError(
            f"{who}: {res['single_events']} events made {res['single_signed']} signed sync_images calls "
            f"({res['single_calls']} calls in all); expected one each"
        )
    if res["envelope_signed"] < res["envelopes"]:
        raise RuntimeError(f"{who}: the envelopes made {res['envelope_signed']} signed sync_images calls")
    return res


def run(ctx: Ctx) -> list[CaseResult]:
    require_files(cold.PUSH_SYNC)
    case = CaseResult("warm", "Warm per-event cost (parse, route, build + sign; transport stubbed, no I/O)")
    runs = max(1, min(ctx.runs, 3 if ctx.quick else 7))
    env = cold.ours_env("http://127.0.0.1:9")  # never contacted: the transport is stubbed
    env.pop("BENCH_EVENT")
    configs = [ours_config(ctx, i) for i in range(runs)]
    sdk_cfg = sdk_config(ctx) if ctx.sdk is not None else None

    quiet_runs: list[dict[str, Any]] = []

    def ours(i: int) -> dict[str, Any]:
        child = run_child(
            ctx.ours.argv(CASES / "child_warm_ours.py"), {**env, "BENCH_CONFIG_FILE": str(configs[i])}, 300
        )
        result = _check(child.check("push-sync warm"), "push-sync")
        # The same with LOG_LEVEL=ERROR (no info lines): how much of the per-event cost is logging.
        quiet = run_child(
            ctx.ours.argv(CASES / "child_warm_ours.py"),
            {**env, "LOG_LEVEL": "ERROR", "BENCH_CONFIG_FILE": str(configs[i])},
            300,
        )
        quiet_runs.append(_check(quiet.check("push-sync warm, LOG_LEVEL=ERROR"), "push-sync"))
        return result

    def sdk(_i: int) -> dict[str, Any]:
        assert ctx.sdk is not None and sdk_cfg is not None
        child = run_child(
            ctx.sdk.interp().argv(CASES / "child_warm_sdk.py"), {"BENCH_CONFIG_FILE": str(sdk_cfg)}, 300
        )
        return _check(child.check("SDK warm"), "SDK")

    ours_runs, sdk_runs = alternate(runs, ours, sdk if ctx.sdk is not None else None)

    def metric(key: str, name: str, goal_text: str = "info") -> Metric:
        o = [float(r[key]) for r in ours_runs]
        s = [float(r[key]) for r in sdk_runs]
        return Metric(
            name,
            "µs/event",
            ours=stats(o),
            sdk=stats(s) if s else None,
            pair_ratios=pair_ratios(o, s) if s else None,
            goal_text=goal_text,
        )

    quiet_single = [float(r["single_us_median"]) for r in quiet_runs]
    sdk_single = [float(r["single_us_median"]) for r in sdk_runs]
    case.metrics = [
        metric("single_us_median", "one Harbor push event (median per event)"),
        Metric(
            "one Harbor push event, LOG_LEVEL=ERROR (the info log lines not written)",
            "µs/event",
            ours=stats(quiet_single),
            sdk=stats(sdk_single) if sdk_single else None,
            pair_ratios=pair_ratios(quiet_single, sdk_single) if sdk_single else None,
            goal_text="info",
        ),
        metric("envelope_us_per_event_median", f"{ENVELOPE}-event Distribution envelope, per event"),
        metric("sign_only_us", "signer alone, one POST sync_images request"),
    ]
    case.metrics[-1].unit = "µs/request"
    case.details = {
        "runs": runs,
        "events_per_run": _sizes(ctx),
        "ours_calls_per_envelope": ours_runs[0]["envelope_calls"] / ours_runs[0]["envelopes"],
        "sdk_calls_per_envelope": (sdk_runs[0]["envelope_calls"] / sdk_runs[0]["envelopes"])
        if sdk_runs
        else None,
        "ours_single_us_mean": stats([float(r["single_us_mean"]) for r in ours_runs]).median,
        "sdk_single_us_mean": stats([float(r["single_us_mean"]) for r in sdk_runs]).median
        if sdk_runs
        else None,
    }
    if ctx.sdk is None:
        case.status, case.reason = "partial", "SDK side skipped (no bench/.sdk-venv)"
    return [case]
