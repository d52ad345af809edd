"""End-to-end proof of replication: push-sync and job-monitor sharing one state store (memory or a real
redis-server), against the emulator (its regions served under ``/regions/{region}``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from functions.job_monitor import durable
from functions.job_monitor.run import build_sinks, run_monitor
from functions.job_monitor.settings import MonitorSettings
from functions.job_monitor.trigger import Overrides, options
from functions.push_sync import idempotency
from localdev.emulator import Emulator
from shared.logs import logs
from shared.runtime.connect import connect
from shared.state import StateStore, get_state, reset_states
from shared.state.intents import Intent
from tests.conftest import EMULATOR_TOKEN
from tests.push_sync.conftest import Caller, make_settings, redis_server, redis_url

__all__ = ["redis_server", "redis_url"]

DIGEST = "sha256:" + "ab" * 32
DIGEST2 = "sha256:" + "cd" * 32
SRC, DST = "cn-north-4", "ap-southeast-1"


class Stack:
    """The emulator, a push-sync caller and a job-monitor runner on one state store."""

    def __init__(self, emulator: Emulator, redis: str | None) -> None:
        self.emu, self.state_emu, self.redis = emulator, emulator.state, redis
        self.state_emu.add_image("demo", "team/app", "v1", DIGEST)
        self.state_emu.add_namespace("demo", region=DST)
        extra = {"STATE_REDIS_URL": redis} if redis else {}
        self.push_settings = make_settings(SWR_ENDPOINT=emulator.url, **extra)
        self.caller = Caller(self.push_settings)

    @property
    def store(self) -> StateStore:
        return get_state(self.redis)

    def push(self, tag: str = "v1", digest: str = DIGEST) -> dict[str, Any]:
        response = self.caller(
            {"namespace": "demo", "repository": "team/app", "tags": [tag], "digest": digest}
        )
        body = json.loads(response.body)
        body["http_status"] = response.status
        return body  # type: ignore[no-any-return]

    def monitor_settings(self, **env: Any) -> MonitorSettings:
        base = {
            "SWR_REGION": SRC,
            "SWR_ENDPOINT": self.emu.url,
            "SWR_ENDPOINT_TEMPLATE": self.emu.url + "/regions/{region}",
            "SWR_AUTH_TOKEN": EMULATOR_TOKEN,
            "HTTP_MAX_ATTEMPTS": "1",
            "HTTP_BACKOFF_BASE": "0",
            "HTTP_TIMEOUT": "5",
            "MONITOR_REPOS": "demo/team/app",
            "VERIFY_AFTER": "900",
        }
        if self.redis:
            base["STATE_REDIS_URL"] = self.redis
        base.update({k: str(v) for k, v in env.items()})
        return MonitorSettings.model_validate(base)

    def run(
        self,
        settings: MonitorSettings | None = None,
        store: StateStore | None = None,
        remaining_ms: float | None = None,
    ) -> dict[str, Any]:
        settings = settings or self.monitor_settings()
        client = connect(settings, remaining_ms)
        opts = options(settings, Overrides(), "test", [])
        now = datetime.now(timezone.utc)
        log = logs.get_logger()
        proof = durable.proof_context(settings, client, log)
        assert proof is not None
        if store is not None:
            proof.state = store
        context = {"function": "job-monitor", "correlation_id": "t", "time": now.isoformat()}
        report = run_monitor(settings, client, opts, now, build_sinks(settings), context, log, proof=proof)
        data = report.to_dict()
        json.dumps(data)
        return data

    def intents(self) -> list[Intent]:
        from shared.state.intents import OPEN_INDEX

        ids = [m for m, _ in self.store.index_oldest(OPEN_INDEX, 10_000)]
        return [i for i in (self.store.read(Intent, m) for m in ids) if i is not None]

    def sync_calls(self) -> list[dict[str, Any]]:
        return [r for r in self.state_emu.requests() if r["path"].split("?")[0].endswith("/sync_images")]


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    idempotency.reset_stores()
    reset_states()
    yield
    idempotency.reset_stores()
    reset_states()


@pytest.fixture(params=["memory", "redis"])
def stack(request: pytest.FixtureRequest, emulator: Emulator) -> Stack:
    redis = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return Stack(emulator, redis)
