"""Reliability suite fixtures: Hypothesis profiles and the end-of-run figures.

Hypothesis profiles (registered here, not in the root conftest, and applied only to this suite's tests):

- ``reliability-ci`` (default): 200 examples per property, so the suite stays fast in CI;
- ``reliability-full``: 10,000 examples per property. Select it with ``HYPOTHESIS_PROFILE=full`` (or
  ``HYPOTHESIS_PROFILE=reliability-full``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from shared.logs import logs
from tests.reliability import figures

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "print_blob": True,
}
settings.register_profile("reliability-ci", max_examples=200, **_COMMON)
settings.register_profile("reliability-full", max_examples=10_000, **_COMMON)

_SELECTED = os.environ.get("HYPOTHESIS_PROFILE", "")
PROFILE = "reliability-full" if _SELECTED in ("full", "reliability-full") else "reliability-ci"
FUZZ = settings(settings.get_profile(PROFILE))
SOAK_FULL = os.environ.get("SOAK_FULL", "") not in ("", "0", "false")


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    yield
    logs.reset()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    data = figures.snapshot()
    if not data:
        return
    terminalreporter.section("reliability figures")
    for key, value in data.items():
        terminalreporter.write_line(f"{key}: {value}")
    target = os.environ.get("RELIABILITY_FIGURES")
    if target:
        with open(target, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
