"""``python -X importtime`` profile of each function's cold path (its cold-start child: import of the handler and
what the first event imports lazily), top 15 by cumulative time, beside the decided-stack floor's profile.

Each module's self and cumulative times are the median over a few runs (one run is too noisy). Also sums the self
time per top-level package, which is what tells where a cold start goes (pydantic, structlog, stdlib, ours).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass

from bench.cases import cold
from bench.common import CaseResult, Metric, run_child, stats
from bench.context import Ctx

KEYS = ("importtime",)
TOP = 15
PROJECT = ("functions", "shared")


@dataclass
class Line:
    name: str
    depth: int
    self_us: int
    cumulative_us: int


def parse(stderr: str) -> list[Line]:
    """Lines look like ``import time:       123 |        456 |   pkg.mod`` (two spaces per nesting level)."""
    lines: list[Line] = []
    for raw in stderr.splitlines():
        if not raw.startswith("import time:"):
            continue
        parts = raw[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        try:
            self_us, cumulative_us = int(parts[0]), int(parts[1])
        except ValueError:
            continue  # the header line
        text = parts[2]
        depth = (len(text) - len(text.lstrip()) - 1) // 2
        lines.append(Line(text.strip(), depth, self_us, cumulative_us))
    return lines


def children(lines: list[Line], name: str) -> dict[str, float]:
    """Cumulative ms of the modules ``name`` imported directly (importtime prints children before parents)."""
    for index, line in enumerate(lines):
        if line.name != name:
            continue
        out: dict[str, float] = {}
        for prev in reversed(lines[:index]):
            if prev.depth <= line.depth:
                break
            if prev.depth == line.depth + 1:
                out[prev.name] = prev.cumulative_us / 1000
        return out
    return {}


def _median_children(runs: list[list[Line]], name: str) -> dict[str, float]:
    per: dict[str, list[float]] = defaultdict(list)
    for lines in runs:
        for child, ms in children(lines, name).items():
            per[child].append(ms)
    ranked = {k: round(statistics.median(v), 2) for k, v in per.items()}
    return dict(sorted(ranked.items(), key=lambda kv: kv[1], reverse=True))


def _median_cumulative(runs: list[list[Line]], name: str) -> float | None:
    values = [line.cumulative_us / 1000 for lines in runs for line in lines if line.name == name]
    return round(statistics.median(values), 2) if values else None


def _profile(runs: list[list[Line]]) -> tuple[list[dict[str, object]], dict[str, float], float]:
    by_name: dict[str, list[Line]] = defaultdict(list)
    for lines in runs:
        for line in lines:
            by_name[line.name].append(line)
    rows = []
    for name, seen in by_name.items():
        rows.append(
            {
                "module": name,
                "depth": min(s.depth for s in seen),
                "cumulative_ms": statistics.median(s.cumulative_us for s in seen) / 1000,
                "self_ms": statistics.median(s.self_us for s in seen) / 1000,
            }
        )
    rows.sort(key=lambda r: float(r["cumulative_ms"]), reverse=True)  # type: ignore[arg-type]
    packages: dict[str, float] = defaultdict(float)
    for row in rows:
        packages[_package(str(row["module"]))] += float(row["self_ms"])  # type: ignore[arg-type]
    for row in rows:
        name = str(row["module"])
        if _package(name) == "stdlib":
            packages["stdlib:" + name.split(".")[0]] += float(row["self_ms"])  # type: ignore[arg-type]
    total = sum(v for k, v in packages.items() if not k.startswith("stdlib:"))
    return rows, dict(sorted(packages.items(), key=lambda kv: kv[1], reverse=True)), total


def _package(module: str) -> str:
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top.startswith("_"):
        return "stdlib"
    return top


def _import_ms(module: str) -> float:
    """Cumulative ``-X importtime`` of ``module`` alone, in a fresh interpreter (ms)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return next(line.cumulative_us / 1000 for line in parse(proc.stderr) if line.name == module)


def _project(module: str) -> bool:
    return module.split(".")[0] in PROJECT


def _function_profile(runs: list[list[Line]], floor: set[str]) -> dict[str, object]:
    """One function's cold path: top 15, self time per package, and what it imports beyond the floor's modules."""
    rows, packages, total = _profile(runs)
    extra = [r for r in rows if str(r["module"]) not in floor]
    extra.sort(key=lambda r: float(r["self_ms"]), reverse=True)  # type: ignore[arg-type]
    return {
        "top": rows[:TOP],
        "packages_self_ms": {k: round(v, 2) for k, v in packages.items() if not k.startswith("stdlib:")},
        "total_self_ms": round(total, 2),
        "module_count": len(rows),
        "project_self_ms": round(sum(float(r["self_ms"]) for r in rows if _project(str(r["module"]))), 2),  # type: ignore[arg-type]
        "project_modules": sum(1 for r in rows if _project(str(r["module"]))),
        "beyond_floor_self_ms": round(sum(float(r["self_ms"]) for r in extra), 2),  # type: ignore[arg-type]
        "beyond_floor_top": [
            {"module": r["module"], "self_ms": round(float(r["self_ms"]), 2)} for r in extra[:TOP]
        ],  # type: ignore[arg-type]
    }


def run(ctx: Ctx) -> list[CaseResult]:
    cold.require_files(cold.PUSH_SYNC)
    case = CaseResult("importtime", "Import-time profile of the cold path (python -X importtime)")
    n = ctx.pick(5, 3, smoke=1)
    flags = ("-X", "importtime")
    floor_argv = ctx.ours.argv(cold.CASES / "child_floor_deps.py", cold.FLOOR_VARIANTS[0][0], flags=flags)
    floor_runs = [parse(run_child(floor_argv, timeout=30).stderr) for _ in range(n)]
    floor_rows, _floor_packages, floor_total = _profile(floor_runs)
    floor_modules = {str(r["module"]) for r in floor_rows}
    case.details["floor_total_self_ms"] = round(floor_total, 2)
    case.details["floor_module_count"] = len(floor_rows)
    cold.run_ours(ctx)  # warm .pyc
    ours_runs = [parse(cold.run_ours(ctx, flags=flags).stderr) for _ in range(n)]
    per_function: dict[str, dict[str, object]] = {"push-sync": _function_profile(ours_runs, floor_modules)}
    for function in cold.other_functions():
        cold.run_function(ctx, function)  # warm .pyc
        runs = [parse(cold.run_function(ctx, function, flags=flags).stderr) for _ in range(n)]
        per_function[function] = _function_profile(runs, floor_modules)
    case.details["functions"] = per_function
    rows, packages, total = _profile(ours_runs)
    case.details["ours_top"] = rows[:TOP]
    case.details["ours_packages_self_ms"] = {
        k: round(v, 2) for k, v in packages.items() if not k.startswith("stdlib:")
    }
    case.details["ours_stdlib_self_ms"] = {
        k.removeprefix("stdlib:"): round(v, 2) for k, v in list(packages.items()) if k.startswith("stdlib:")
    }
    case.details["ours_total_self_ms"] = round(total, 2)
    case.details["ours_module_count"] = len(rows)
    case.details["structlog_children_ms"] = _median_children(ours_runs, "structlog")
    case.details["notable_cumulative_ms"] = {
        name: _median_cumulative(ours_runs, name)
        for name in (
            "structlog",
            "structlog.stdlib",
            "structlog.dev",
            "asyncio",
            "pydantic",
            "pydantic.plugin._loader",
            "importlib.metadata",
            "shared.swr.models",
            "urllib.request",
            "email.utils",
            "ssl",
        )
    }
    metrics = [Metric("total import time (sum of self)", "ms", ours=stats([total]), goal_text="info")]
    metrics.append(
        Metric(
            "floor of the decided stack: import time (sum of self)",
            "ms",
            ours=stats([floor_total]),
            goal_text="info",
        )
    )
    for function, prof in per_function.items():
        metrics.append(
            Metric(
                f"{function}: project modules' self time ({prof['project_modules']} modules)",
                "ms",
                ours=stats([float(prof["project_self_ms"])]),  # type: ignore[arg-type]
                goal_text="info",
            )
        )
        metrics.append(
            Metric(
                f"{function}: self time of modules the floor does not import",
                "ms",
                ours=stats([float(prof["beyond_floor_self_ms"])]),  # type: ignore[arg-type]
                goal_text="info",
            )
        )
    # RE2 is not on the cold path: it is imported by the first rule or override that uses a regex.
    re2_ms = [_import_ms("re2") for _ in range(n)]
    case.details["re2_import_ms"] = [round(v, 2) for v in re2_ms]
    metrics.append(Metric("re2 import (first regex rule only)", "ms", ours=stats(re2_ms), goal_text="info"))
    if ctx.sdk is not None:
        cold.run_sdk(ctx)
        sdk_runs = [parse(cold.run_sdk(ctx, flags=flags).stderr) for _ in range(n)]
        sdk_rows, sdk_packages, sdk_total = _profile(sdk_runs)
        case.details["sdk_top"] = sdk_rows[:TOP]
        case.details["sdk_packages_self_ms"] = {
            k: round(v, 2) for k, v in sdk_packages.items() if not k.startswith("stdlib:")
        }
        case.details["sdk_total_self_ms"] = round(sdk_total, 2)
        case.details["sdk_module_count"] = len(sdk_rows)
        metrics[0].sdk = stats([sdk_total])
    case.metrics = metrics
    return [case]
