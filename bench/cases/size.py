"""Case 2: deploy package size, each function's FunctionGraph zip vs the SDK's minimal deploy set.

Ours: ``swr-sync package`` into a temporary directory, for this interpreter's CPython version (the one the SDK venv
runs too), twice: with ``.pyc`` files (what ships; compiled with this interpreter) and ``--no-compile`` (sources
only). If the packager cannot run, ``dist/sizes.json`` is used when present.
SDK: the files of huaweicloudsdkswr and its transitive runtime requirements in bench/.sdk-venv (no pip/setuptools),
zipped with ZIP_DEFLATED level 9, with and without the ``.pyc`` files pip compiled at install. Like is compared
with like: ours as shipped (.pyc; the dependencies' byte-code only) vs SDK with .pyc (the goal), and
sources-only vs sources-only (information).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench import sdkdeploy
from bench.common import ROOT, CaseResult, Metric, NotAvailable, stats
from bench.context import Ctx

KEYS = ("size",)
FUNCTIONS = {"push-sync": "push_sync", "job-monitor": "job_monitor", "policy-export": "policy_export"}
GOAL = 0.5  # #22: zip size at most half the SDK's deploy set


def _available_functions() -> list[str]:
    return [
        name
        for name, pkg in FUNCTIONS.items()
        if (ROOT / "functions" / pkg / "index.py").is_file()
        and (ROOT / "functions" / pkg / "__init__.py").is_file()
    ]


def _package(ctx: Ctx, functions: list[str], compile_pyc: bool) -> dict[str, Any]:
    out = ctx.tmp / ("pkg-pyc" if compile_pyc else "pkg-src")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    argv = [sys.executable, "-m", "localdev.cli", "package", "--python", python, "--out", str(out)]
    argv += ["--compile-with", sys.executable] if compile_pyc else ["--no-compile"]
    for name in functions:
        argv += ["--function", name]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError("swr-sync package failed: " + (proc.stderr or proc.stdout).strip()[-800:])
    return dict(json.loads((out / "sizes.json").read_text(encoding="utf-8")))


def _code_zips(sizes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(a["function"]): a
        for a in sizes.get("artifacts", [])
        if a.get("kind") == "functiongraph-code" and a.get("function")
    }


def run(ctx: Ctx) -> list[CaseResult]:
    case = CaseResult(
        "size", "Deploy package size: FunctionGraph code zip per function vs the SDK's deploy set"
    )
    available = functions = _available_functions()
    if not (ROOT / "localdev" / "packager").is_dir() and not (ROOT / "dist" / "sizes.json").is_file():
        raise NotAvailable("the packager (swr-sync package) and dist/sizes.json are both missing")
    if not functions:
        raise NotAvailable("no function has functions/<name>/index.py yet")

    source = "swr-sync package (fresh build, temporary directory)"
    sources_only: dict[str, Any] | None
    try:
        if ctx.smoke:  # one fast build of one function: proves the pipeline, not the numbers
            functions = functions[:1]
            shipped, sources_only = _package(ctx, functions, compile_pyc=False), None
        else:
            shipped = _package(ctx, functions, compile_pyc=True)
            sources_only = _package(ctx, functions, compile_pyc=False)
    except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as err:
        fallback = ROOT / "dist" / "sizes.json"
        if not fallback.is_file():
            raise
        ctx.log(f"size: packager failed ({err}); using {fallback}")
        shipped, sources_only = json.loads(fallback.read_text(encoding="utf-8")), None
        source = "dist/sizes.json (packager failed: " + str(err)[:200] + ")"
    ours_pyc, ours_src = _code_zips(shipped), _code_zips(sources_only or {})
    if "push-sync" in ours_pyc and source.startswith("swr-sync package"):
        # The unpacked tree next to the zip: the cold-start case also runs push-sync from it (deploy layout).
        tree = ctx.tmp / ("pkg-src" if ctx.smoke else "pkg-pyc") / str(ours_pyc["push-sync"]["artifact"])
        tree = tree.with_suffix("")
        if (tree / "index.py").is_file():
            ctx.shared["push_sync_tree"] = str(tree)
    shipped_has_pyc = bool(shipped.get("pyc"))

    sdk_pyc = sdk_src = None
    if ctx.sdk is not None:
        site = ctx.sdk.site_packages[0]
        sdk_src = sdkdeploy.measure(site, with_pyc=False)
        sdk_pyc = sdk_src if ctx.smoke else sdkdeploy.measure(site, with_pyc=True)
        case.details["sdk_deploy_set"] = {
            "distributions": sdk_src.distributions,
            "with_pyc": {
                "files": len(sdk_pyc.files),
                "unpacked": sdk_pyc.unpacked_bytes,
                "zip": sdk_pyc.zip_bytes,
            },
            "sources_only": {
                "files": len(sdk_src.files),
                "unpacked": sdk_src.unpacked_bytes,
                "zip": sdk_src.zip_bytes,
            },
        }

    for name in FUNCTIONS:
        if name in available and name not in ours_pyc:
            continue  # smoke: built one function only
        if name not in available:
            case.metrics.append(
                Metric(f"{name} zip", "bytes", goal_text=f"≤ {GOAL}", note="not yet available")
            )
            continue
        a = ours_pyc[name]
        sdk_ref = sdk_pyc if shipped_has_pyc else sdk_src
        case.metrics.append(
            Metric(
                f"{name} zip{' (with .pyc)' if shipped_has_pyc else ' (sources only)'}",
                "bytes",
                ours=stats([a["zipped_bytes"]]),
                sdk=stats([sdk_ref.zip_bytes]) if sdk_ref else None,
                goal=GOAL,
                goal_text=f"≤ {GOAL}",
                digits=0,
                note=f"{a['files']:,} files, {a['unpacked_bytes']:,} B unpacked",
            )
        )
        if name in ours_src and sdk_src is not None:
            b = ours_src[name]
            case.metrics.append(
                Metric(
                    f"{name} zip (sources only, no .pyc)",
                    "bytes",
                    ours=stats([b["zipped_bytes"]]),
                    sdk=stats([sdk_src.zip_bytes]),
                    goal_text="info (like for like; the goal is on what ships, above)",
                    digits=0,
                    note=f"{b['files']:,} files, {b['unpacked_bytes']:,} B unpacked",
                )
            )
    missing = [n for n in FUNCTIONS if n not in available]
    case.details.update(
        {
            "source": source,
            "target": shipped.get("target"),
            "pyc": shipped.get("pyc"),
            "requirements": shipped.get("requirements"),
            "not_yet_available": missing,
        }
    )
    if missing:
        case.status, case.reason = "partial", "not yet available: " + ", ".join(missing)
    if ctx.sdk is None:
        case.status, case.reason = "partial", (case.reason + "; " if case.reason else "") + "SDK side skipped"
    return [case]
