"""Soak (see tests/reliability/soak.py): a seeded randomized run of webhook deliveries with random SWR faults,
token expiries and redeliveries through the local stack's gateway. No tag may be lost, none synced twice.

The short profile (150 deliveries) runs by default. The full one (1,000 deliveries) runs with ``SOAK_FULL=1``
or when the ``slow`` marker is selected (``pytest -m slow tests/reliability``); the same figures come from
``python -m tests.reliability.soak --deliveries 1000 --seed 20261122``.
"""

from __future__ import annotations

import pytest

from tests.reliability import figures
from tests.reliability.conftest import SOAK_FULL
from tests.reliability.soak import Figures, run_soak

SEED = 20261122


def _check(result: Figures, deliveries: int) -> None:
    data = result.to_dict()
    assert result.deliveries == deliveries, data
    assert result.losses == 0, data["lost"]
    assert result.duplicates == 0, data["duplicated"]
    assert result.tags_synced + result.tags_reported_failed == result.tags, data
    # The run exercised what it claims to: faults, redeliveries (also of successes), reported failures.
    assert result.faults_injected > 0 and result.redeliveries > 0 and result.redeliveries_after_success > 0, (
        data
    )
    assert set(result.answers) <= {200, 502, 503}, data
    for key in ("deliveries", "faults_injected", "redeliveries", "tags_synced", "tags_reported_failed"):
        figures.note(f"soak ({deliveries}): {key}", data[key])
    figures.note(f"soak ({deliveries}): losses/duplicates", f"{result.losses}/{result.duplicates}")
    figures.note(
        f"soak ({deliveries}): elapsed s / peak RSS KiB", f"{data['elapsed_s']}/{data['peak_rss_kib']}"
    )


def test_soak_short() -> None:
    result = run_soak(deliveries=150, seed=SEED)
    _check(result, 150)
    assert result.elapsed_s < 30


@pytest.mark.slow
def test_soak_full(request: pytest.FixtureRequest) -> None:
    if not SOAK_FULL and "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the full soak runs with SOAK_FULL=1 or -m slow")
    result = run_soak(deliveries=1000, seed=SEED)
    _check(result, 1000)
