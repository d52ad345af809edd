"""bench/results.md (a table with medians, ratio ours/SDK, goal, pass/fail, then the details) and results.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import CaseResult, Metric

NUMBERS = {
    "cold": "1",
    "size": "2",
    "rss": "3",
    "warm": "4",
    "export": "5",
    "monitor": "6",
    "importtime": "—",
}

# Written from what the measurements showed; the reasoning and the numbers behind it: docs/benchmarks.md.
FINDINGS = """\
In the benchmark itself:
- Peak RSS: children are started from a small spawner process (bench/spawner.py). Started straight from the
  bench (which holds the emulator and up to a million seeded jobs), a child's `ru_maxrss` reports the bench's
  peak, not its own: exec keeps the old address space's high-water mark and Python's subprocess uses vfork
  (seen: an empty interpreter "peaking" at 216 MB under a 200 MB parent). Each child also reports `VmHWM`.
- Emulator latency: the emulator writes response head and body in two sends; with Nagle's algorithm on, a
  keep-alive client (the SDK's requests session) waits for the 40 ms delayed ACK on every call (64 ms per call
  instead of 24 ms at 20 ms injected latency). Fixed in the emulator (`disable_nagle_algorithm = True` on its
  request handler); the results record `emulator_tcp_nodelay`.

In the project:
- Cold start cannot reach 0.5 with the decided stack: the four "floor" rows import only what a function with
  each dependency stack needs (one record, one JSON log line, the stdlib HTTP stack; no project code). The
  pydantic + structlog floor is already above 0.5 and, for peak RSS, at about the 0.75 goal; without structlog
  it is lower, without pydantic lower still, and only the floors without pydantic are under 0.5. Inside the
  decided floor, pydantic's plugin loader imports `importlib.metadata` on the first model and `import structlog`
  always loads `structlog.stdlib` (hence `asyncio`) and `structlog.dev`: neither can be skipped from outside.
- Between that floor and us: our modules (about 20 dataclasses at ~0.7 ms each to create, the settings models
  built at import, the other models deferred), `ssl`/`email` via `urllib.request`, and the first invocation
  (settings validation, rules, first log lines). Done: every response model and `ErrorInfo` build their schema
  on first use (`defer_build`).
- Warm per-event cost is mostly logging. Done: redaction masks by key with exact-type checks and scrubs each
  rendered line once, each scrub regex behind a substring pre-test (three regex passes per line were ~19 us,
  now ~3 us); the retry policy shares one jitter generator (seeding one per call cost ~13 us); list calls reuse
  one cached `TypeAdapter` per model.
"""


def _fmt(value: float | None, digits: int) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _ratio(m: Metric) -> str:
    if m.ratio is None:
        return "—"
    text = f"{m.ratio:.2f}"
    if m.pair_ratios is not None and m.pair_ratios.n > 1:
        text += f" ({m.pair_ratios.min:.2f}-{m.pair_ratios.max:.2f})"
    return text


def _result(case: CaseResult, m: Metric) -> str:
    if case.status in ("not yet available", "error"):
        return case.status
    if m.note == "not yet available":
        return "not yet available"
    if m.passed is None:
        return "info" if m.goal is None else "n/a"
    return "PASS" if m.passed else "FAIL"


def summary_table(cases: list[CaseResult]) -> list[str]:
    lines = [
        "| # | case | metric | ours (median) | SDK (median) | ratio ours/SDK (paired min-max) | goal | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        num = NUMBERS.get(case.key, "")
        if not case.metrics:
            lines.append(f"| {num} | {case.key} | — | — | — | — | — | {case.status}: {case.reason} |")
            continue
        for m in case.metrics:
            ours = _fmt(m.ours.median if m.ours else None, m.digits)
            sdk = _fmt(m.sdk.median if m.sdk else None, m.digits)
            unit = f" {m.unit}" if m.unit else ""
            lines.append(
                f"| {num} | {case.key} | {m.name} | {ours}{unit if m.ours else ''} | {sdk}{unit if m.sdk else ''}"
                f" | {_ratio(m)} | {m.goal_text or '—'} | {_result(case, m)} |"
            )
    return lines


def spread_table(cases: list[CaseResult]) -> list[str]:
    lines = [
        "| case | metric | ours: median (IQR, min-max) | SDK: median (IQR, min-max) | n |",
        "|---|---|---|---|---|",
    ]
    for case in cases:
        for m in case.metrics:
            if (m.ours is None or m.ours.n < 2) and (m.sdk is None or m.sdk.n < 2):
                continue
            n = max(m.ours.n if m.ours else 0, m.sdk.n if m.sdk else 0)
            ours = m.ours.fmt(m.digits) if m.ours else "—"
            sdk = m.sdk.fmt(m.digits) if m.sdk else "—"
            lines.append(f"| {case.key} | {m.name} ({m.unit}) | {ours} | {sdk} | {n} |")
    return lines


def _importtime(cases: list[CaseResult]) -> list[str]:
    case = next((c for c in cases if c.key == "importtime"), None)
    if case is None or case.status in ("not yet available", "error"):
        reason = f" ({case.status}: {case.reason})" if case else " (not run)"
        return ["## Import-time profile of the cold path", "", f"Not available{reason}.", ""]
    d = case.details
    lines = [
        "## Import-time profile of the cold path",
        "",
        "`python -X importtime`, push-sync cold-start child (import of `functions.push_sync.index` and what the "
        "first event imports lazily); median per module over several runs. Top 15 by cumulative time:",
        "",
        "| # | module | cumulative ms | self ms |",
        "|---|---|---|---|",
    ]
    for i, row in enumerate(d.get("ours_top", []), 1):
        indent = "·" * int(row["depth"])
        lines.append(
            f"| {i} | {indent}`{row['module']}` | {row['cumulative_ms']:.1f} | {row['self_ms']:.1f} |"
        )
    lines += [
        "",
        f"Self time by top-level package (ours, {d.get('ours_module_count')} modules, "
        f"{d.get('ours_total_self_ms')} ms in all): "
        + ", ".join(f"{k} {v:.1f} ms" for k, v in list(d.get("ours_packages_self_ms", {}).items())[:8]),
    ]
    if d.get("ours_stdlib_self_ms"):
        lines.append(
            "Standard library part, by top-level module (ours): "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in list(d["ours_stdlib_self_ms"].items())[:10])
        )
    if d.get("structlog_children_ms"):
        lines.append(
            "What `import structlog` pulls (cumulative ms of its direct imports): "
            + ", ".join(f"{k} {v:.1f}" for k, v in list(d["structlog_children_ms"].items())[:5])
        )
    if d.get("functions"):
        lines += ["", *_per_function(d)]
    if "sdk_total_self_ms" in d:
        lines.append(
            f"SDK for comparison ({d.get('sdk_module_count')} modules, {d.get('sdk_total_self_ms')} ms): "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in list(d.get("sdk_packages_self_ms", {}).items())[:8])
        )
    return [*lines, ""]


def _per_function(d: dict[str, Any]) -> list[str]:
    """Each function's cold path: its top 15, and what it imports beyond the decided-stack floor's modules."""
    lines = [
        f"Floor of the decided stack (child_floor_deps.py): {d.get('floor_module_count')} modules, "
        f"{d.get('floor_total_self_ms')} ms (sum of self).",
    ]
    for function, prof in d["functions"].items():
        lines += [
            "",
            f"### {function}: {prof['module_count']} modules, {prof['total_self_ms']} ms (sum of self); "
            f"project code {prof['project_modules']} modules, {prof['project_self_ms']} ms; "
            f"beyond the floor's modules {prof['beyond_floor_self_ms']} ms",
            "",
            "| # | module | cumulative ms | self ms |",
            "|---|---|---|---|",
        ]
        for i, row in enumerate(prof["top"], 1):
            indent = "·" * int(row["depth"])
            lines.append(
                f"| {i} | {indent}`{row['module']}` | {row['cumulative_ms']:.1f} | {row['self_ms']:.1f} |"
            )
        lines += [
            "",
            "Largest self times beyond the floor: "
            + ", ".join(f"`{r['module']}` {r['self_ms']:.1f}" for r in prof["beyond_floor_top"]),
        ]
    return lines


def _details(cases: list[CaseResult]) -> list[str]:
    lines = ["## Case details", ""]
    for case in cases:
        if case.key == "importtime":
            continue
        lines.append(f"### {NUMBERS.get(case.key, '')} {case.key}: {case.title}")
        lines.append("")
        lines.append(f"Status: **{case.status}**" + (f" — {case.reason}" if case.reason else "") + ".")
        for m in case.metrics:
            if m.note and m.note != "not yet available":
                lines.append(f"- {m.name}: {m.note}")
        if case.details:
            lines.append("")
            lines.append("```json")
            lines.append(json.dumps(case.details, indent=1, ensure_ascii=False, default=str)[:4000])
            lines.append("```")
        lines.append("")
    return lines


def write(cases: list[CaseResult], meta: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    md = [
        "# Benchmarks: swr-sync vs the official SDK (huaweicloudsdkswr)",
        "",
        "Generated by `python -m bench.run` (`make bench`); how to read and reproduce: docs/benchmarks.md.",
        "",
        f"- when: {meta['when']}; took {meta['seconds']:.0f} s; mode: {meta['mode']}; "
        f"timed runs per side (process cases): {meta['runs']}, alternating ours/SDK",
        f"- machine: {meta['machine']}",
        f"- ours: {meta['ours']}",
        f"- SDK: {meta['sdk']}",
        "- wall-clock numbers on a shared machine move by ±15 %: read the ratios (measured in the same run, "
        "pairs of alternating runs) more than the absolute values.",
        "",
        "## Summary",
        "",
        *summary_table(cases),
        "",
        "## Spread",
        "",
        *spread_table(cases),
        "",
        *_importtime(cases),
        "## What we changed because of it",
        "",
        FINDINGS,
        *_details(cases),
    ]
    md_path = out_dir / "results.md"
    json_path = out_dir / "results.json"
    md_path.write_text("\n".join(md).rstrip() + "\n", encoding="utf-8")
    json_path.write_text(
        json.dumps({"meta": meta, "cases": [c.to_json() for c in cases]}, indent=1, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    return md_path, json_path
