"""Smoke run of every benchmark case, one iteration, small data: the benchmarks cannot rot unnoticed.

Only our side runs unless bench/.sdk-venv already exists (the SDK is never installed by the tests). Nothing
here asserts a timing: only that every case still runs end to end and produces a report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import report, sdkenv
from bench.common import SPAWNER, CaseResult, ours_interp
from bench.context import Ctx
from bench.run import ALL_KEYS, MODULES, run_module

RESULTS: list[CaseResult] = []


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ctx]:
    context = Ctx(
        runs=1,
        quick=True,
        smoke=True,
        ours=ours_interp(),
        sdk=sdkenv.existing(),  # never installs
        tmp=tmp_path_factory.mktemp("bench"),
    )
    try:
        yield context
    finally:
        context.close()
        SPAWNER.close()


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__.rsplit(".", 1)[-1] for m in MODULES])
def test_case_runs(ctx: Ctx, module) -> None:
    results = run_module(module, ctx, ALL_KEYS)
    assert [r.key for r in results] == list(module.KEYS)
    for result in results:
        if result.status == "error" and "pip download" in result.reason:
            pytest.skip(f"{result.key}: the packager needs PyPI or a wheel cache: {result.reason[:200]}")
        assert result.status != "error", f"{result.key}: {result.reason}"
        if result.status != "not yet available":
            assert result.metrics, result.key
            assert all(m.ours is not None or m.note for m in result.metrics), result.key
    RESULTS.extend(results)


def test_report_renders(tmp_path: Path) -> None:
    cases = RESULTS or [CaseResult("cold", "t", "not yet available", "nothing ran")]
    meta = {
        "when": "now",
        "seconds": 1.0,
        "mode": "smoke",
        "runs": 1,
        "cases": ALL_KEYS,
        "machine": "test",
        "ours": "test",
        "sdk": "test",
    }
    md_path, json_path = report.write(cases, meta, tmp_path)
    text = md_path.read_text(encoding="utf-8")
    assert "| # | case | metric |" in text
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert {c["key"] for c in data["cases"]} == {c.key for c in cases}
