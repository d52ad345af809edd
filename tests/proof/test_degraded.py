"""Redis down or flaky in the middle of a run: the run reports a degraded state and goes on, loses no intent
it had written, and sends at most one alert more than with a healthy store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun import freeze_time

from shared.state import StateStore
from shared.state.redis import RedisBackend
from tests.job_monitor.conftest import T0
from tests.proof.conftest import DIGEST, DST, Stack


class Flaky:
    """A real Redis backend whose connection 'drops' after ``ok`` commands (every later one fails)."""

    name = "redis"

    def __init__(self, inner: RedisBackend, ok: int) -> None:
        self.inner, self.ok = inner, ok

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self.inner, attr)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.ok <= 0:
                raise ConnectionError("connection reset by peer")
            self.ok -= 1
            return target(*args, **kwargs)

        return call


@pytest.fixture
def redis_stack(emulator: Any, redis_url: str) -> Stack:
    return Stack(emulator, redis_url)


@pytest.mark.parametrize("ok", [0, 1, 3, 6, 10])
def test_a_store_failing_mid_run_degrades_the_run_and_loses_no_intent(redis_stack: Stack, ok: int) -> None:
    stack = redis_stack
    for tag in ("v1", "v2", "v3"):
        stack.state_emu.add_image("demo", "team/app", tag, DIGEST)
    with freeze_time(T0) as clock:
        for tag in ("v1", "v2", "v3"):
            assert stack.push(tag)["http_status"] == 200
        written = {i.id for i in stack.intents()}
        assert len(written) == 3
        clock.tick(timedelta(seconds=30))
        flaky = StateStore(Flaky(RedisBackend(stack.redis or ""), ok))  # type: ignore[arg-type]
        report = stack.run(store=flaky)
        assert report["state"]["degraded"] is True and report["state"]["backend"] == "redis"
        assert report["status"] != "swr_unavailable"  # the SWR side of the run went on
        # the healthy store still has every intent: open, or settled by what the run managed to write
        healthy = stack.run()
    settled = {s["intent"] for s in healthy["replication"]["settled"]}
    verified_before = report["replication"]["verified"]
    assert verified_before + len(settled) >= 3 and settled <= written
    assert healthy["replication"]["pending"] == 0 and stack.intents() == []
    assert healthy["state"] == {"backend": "redis", "degraded": False}


def test_store_down_for_one_run_sends_at_most_one_more_alert(redis_stack: Stack) -> None:
    stack = redis_stack
    settings = stack.monitor_settings(MONITOR_MAX_RESYNC="0", MONITOR_SETTLE_SECONDS="0")
    alerts = 0
    with freeze_time(T0) as clock:
        stack.state_emu.add_job("demo", "team/app", "v9", DST, "demo", status="failed", created_at=T0)
        clock.tick(timedelta(seconds=5))
        for down in (False, True, False, False):
            store = StateStore(Flaky(RedisBackend(stack.redis or ""), 0)) if down else None  # type: ignore[arg-type]
            report = stack.run(settings, store=store)
            alerts += sum(1 for a in report["alerts"] if a["kind"] == "failed")
            assert report["state"]["degraded"] is down
            clock.tick(timedelta(seconds=60))
    assert alerts <= 2  # one with the healthy store, at most one more while it was down
