"""Fixtures for job-monitor tests: settings pointed at the emulator, a run helper, seeded history."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from functions.job_monitor.alerts import REPEAT_GUARD
from functions.job_monitor.run import build_sinks, run_monitor
from functions.job_monitor.settings import MonitorSettings
from functions.job_monitor.trigger import Overrides, options
from localdev.emulator import Emulator
from shared.logs import logs
from shared.runtime.connect import connect
from shared.state import reset_states
from shared.swr.http import Deadline
from tests.conftest import EMULATOR_TOKEN

T0 = datetime(2025, 6, 2, 12, 0, 0, tzinfo=timezone.utc)
SRC = "cn-north-4"
DST = "ap-southeast-1"
DST2 = "ap-southeast-3"


class Harness:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.state = emulator.state
        self.log = logs.get_logger()

    def env(self, **env: Any) -> dict[str, str]:
        base = {
            "SWR_ENDPOINT": self.emu.url,
            "SWR_AUTH_TOKEN": EMULATOR_TOKEN,
            "HTTP_MAX_ATTEMPTS": "1",
            "HTTP_BACKOFF_BASE": "0",
            "HTTP_TIMEOUT": "5",
            "MONITOR_REPOS": "team/app",
        }
        base.update({k: str(v) for k, v in env.items() if v is not None})
        return {k: v for k, v in base.items() if v != ""}

    def settings(self, **env: Any) -> MonitorSettings:
        return MonitorSettings.model_validate(self.env(**env))

    def run(
        self,
        settings: MonitorSettings | None = None,
        overrides: dict[str, Any] | None = None,
        scan_deadline: Deadline | None = None,
        remaining_ms: float | None = None,
    ) -> dict[str, Any]:
        settings = settings or self.settings()
        client = connect(settings, remaining_ms)
        opts = options(settings, Overrides.model_validate(overrides or {}), "test", [])
        now = datetime.now(timezone.utc)
        context = {"function": "job-monitor", "correlation_id": "test-run", "time": now.isoformat()}
        report = run_monitor(
            settings, client, opts, now, build_sinks(settings), context, self.log, scan_deadline
        )
        data = report.to_dict()
        json.dumps(data)  # the report must always be JSON-serialisable
        return data

    # -- seeding ----------------------------------------------------------------------------------------------

    def job(
        self,
        tag: str,
        status: str | None,
        age: float,
        repo: str = "team/app",
        region: str = DST,
        target_ns: str = "team",
        override: bool = False,
    ) -> int:
        """A job created ``age`` seconds before the (frozen) now."""
        namespace, repository = repo.split("/", 1)
        created = datetime.now(timezone.utc) - timedelta(seconds=age)
        return self.state.add_job(
            namespace,
            repository,
            tag,
            region,
            target_ns,
            status=status,
            created_at=created,
            override=override,
        )

    def requests(self, part: str, method: str | None = None) -> list[dict[str, Any]]:
        return [
            r for r in self.state.requests if part in r["path"] and (method is None or r["method"] == method)
        ]


@pytest.fixture
def harness(emulator: Emulator) -> Harness:
    return Harness(emulator)


@pytest.fixture(autouse=True)
def _fresh_guard() -> Iterator[None]:
    REPEAT_GUARD.clear()
    reset_states()  # a new warm instance: the in-memory state store starts empty
    yield
    REPEAT_GUARD.clear()
    reset_states()


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure("DEBUG", stream)
    try:
        yield stream
    finally:
        logs.reset()
