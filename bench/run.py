"""``python -m bench.run [--quick] [--runs N] [--cases a,b]``: every case, ours and the SDK, alternating.

Cases: cold (1), size (2), rss (3), warm (4), export (5), monitor (6), importtime. Writes bench/results.md and
bench/results.json. A case whose dependency does not exist yet is reported as "not yet available".
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

from bench import report, sdkenv
from bench.cases import cold, export, health, importtime, monitor, reconcile, size, warm
from bench.common import BENCH, SPAWNER, CaseResult, NotAvailable, ours_interp
from bench.context import Ctx

# Run order: size first (cold also runs push-sync from the packaged tree), importtime reuses the cold child.
MODULES: list[ModuleType] = [size, cold, warm, export, monitor, reconcile, health, importtime]
ALL_KEYS = [key for module in MODULES for key in module.KEYS]
REPORT_ORDER = ["cold", "size", "rss", "warm", "export", "monitor", "reconcile", "health", "importtime"]
TITLES = {
    "cold": "Cold start: fresh process, import + handle one push event (one sync_images call)",
    "rss": "Peak RSS of the cold start (ru_maxrss at exit of the child)",
    "size": "Deploy package size: FunctionGraph code zip per function vs the SDK's deploy set",
    "warm": "Warm per-event cost (parse, route, build + sign; transport stubbed, no I/O)",
    "export": "Export scaling: policy-export over 1,000 repositories, 20 ms per call",
    "monitor": "Monitor scaling: one poll, 100 repositories x 10,000 old jobs, 0 and 50 new",
    "reconcile": "Reconcile scaling: a plan of 1,000 repositories x 100 tags x 3 regions against the emulator",
    "health": "Health page: 1,000 repositories x 5 regions read from the store and rendered",
    "importtime": "Import-time profile of the cold path (python -X importtime)",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer runs and smaller data (minutes → about one)")
    p.add_argument(
        "--runs", type=int, default=None, help="timed runs per side for the process cases (default 20)"
    )
    p.add_argument("--cases", default="", help=f"comma-separated subset of: {','.join(ALL_KEYS)}")
    p.add_argument("--no-sdk", action="store_true", help="do not install or run the SDK side")
    p.add_argument(
        "--out", type=Path, default=BENCH, help="where results.md/results.json go (default bench/)"
    )
    return p.parse_args(argv)


def select(spec: str) -> list[str]:
    if not spec.strip():
        return list(ALL_KEYS)
    keys = [k.strip() for k in spec.split(",") if k.strip()]
    unknown = [k for k in keys if k not in ALL_KEYS]
    if unknown:
        raise SystemExit(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(ALL_KEYS)}")
    return keys


def run_module(module: ModuleType, ctx: Ctx, keys: list[str]) -> list[CaseResult]:
    """One case module → its results, never an exception: missing pieces and failures are results too."""
    started = time.monotonic()
    wanted = [k for k in module.KEYS if k in keys]
    runner: Callable[[Ctx], list[CaseResult]] = module.run
    try:
        results = [r for r in runner(ctx) if r.key in wanted]
    except NotAvailable as err:
        results = [CaseResult(k, TITLES[k], "not yet available", str(err)) for k in wanted]
    except Exception as err:
        ctx.log(f"{module.__name__} failed:\n{traceback.format_exc()}")
        results = [CaseResult(k, TITLES[k], "error", f"{type(err).__name__}: {err}"[:800]) for k in wanted]
    elapsed = time.monotonic() - started
    for r in results:
        r.seconds = elapsed / max(1, len(results))
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    keys = select(args.cases)
    runs = args.runs if args.runs is not None else (5 if args.quick else 20)
    if runs < 1:
        raise SystemExit("--runs must be at least 1")
    started = time.monotonic()
    load_before = os.getloadavg()
    sdk = None if args.no_sdk else sdkenv.ensure()
    results: list[CaseResult] = []
    with tempfile.TemporaryDirectory(prefix="swr-sync-bench-") as tmp:
        ctx = Ctx(runs=runs, quick=args.quick, ours=ours_interp(), sdk=sdk, tmp=Path(tmp))
        try:
            for module in MODULES:
                if not any(k in keys for k in module.KEYS):
                    continue
                ctx.log(f"case {'/'.join(k for k in module.KEYS if k in keys)} ...")
                case_results = run_module(module, ctx, keys)
                for r in case_results:
                    ctx.log(
                        f"  {r.key}: {r.status}{' — ' + r.reason if r.reason else ''} ({r.seconds:.1f} s)"
                    )
                results.extend(case_results)
        finally:
            ctx.close()
            SPAWNER.close()
    results.sort(key=lambda r: REPORT_ORDER.index(r.key) if r.key in REPORT_ORDER else 99)
    meta = {
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": time.monotonic() - started,
        "mode": "quick" if args.quick else "full",
        "runs": runs,
        "cases": keys,
        "machine": f"{os.cpu_count()} CPU(s), {platform.machine()}, {platform.system()} {platform.release()}; "
        f"load average (1 min) {load_before[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end",
        "ours": f"CPython {platform.python_version()} ({sys.executable})",
        "sdk": (
            "skipped (--no-sdk)"
            if sdk is None
            else ", ".join(f"{k} {v}" for k, v in sdk.versions.items())
            + f" in {sdk.venv.relative_to(BENCH.parent) if sdk.venv.is_relative_to(BENCH.parent) else sdk.venv}"
            + (f" (installed in {sdk.install_seconds:.0f} s)" if sdk.install_seconds else " (reused)")
        ),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    md_path, json_path = report.write(results, meta, args.out)
    print("\n".join(report.summary_table(results)))
    print(f"\nwrote {md_path} and {json_path} in {meta['seconds']:.0f} s")
    return 1 if any(r.status == "error" for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
