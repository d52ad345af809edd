"""4 push-sync processes sharing one real redis-server take 1,000 deliveries with redeliveries and concurrent
duplicates: 0 tags lost, 0 duplicate sync_images calls, every intent recorded once (``make scaleout``)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.reliability.scaleout import run

pytestmark = pytest.mark.redis


def test_four_processes_one_redis_thousand_deliveries() -> None:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("CI: redis-server is not installed")
        pytest.skip("redis-server binary not installed")
    figures = run(deliveries=1000, workers=4, seed=20261206)
    assert figures["deliveries"] == 1000 and figures["redeliveries_and_duplicates"] > 300
    assert figures["lost"] == 0
    assert figures["duplicate_syncs"] == 0
    assert figures["sync_images_tags"] == figures["pushes"]
    assert figures["intents"] == figures["pushes"] and figures["intents_per_push_max"] == 1
    assert set(figures["answers"]) == {200}
