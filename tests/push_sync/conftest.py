"""push-sync fixtures: settings from a dict, a direct invoker, a real redis-server, log capture."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.push_sync import idempotency
from functions.push_sync.app import handle
from functions.push_sync.detect import parse_payload
from functions.push_sync.model import ParseResult
from functions.push_sync.settings import PushSyncSettings
from shared.logs import logs
from shared.runtime.app import FunctionApp
from shared.runtime.config import env_lookup, load_settings
from shared.runtime.model import Invocation, Request, Response
from tests import realredis
from tests.conftest import EMULATOR_TOKEN

EVENTS = Path(__file__).resolve().parents[2] / "events" / "push-sync"
SECRET = "test-webhook-secret-0123"
DIGEST = "sha256:" + "ab" * 32
RULES = [
    {
        "name": "dr",
        "namespace": "demo",
        "repository": "team/**",
        "tags": {"exclude": [r".*-rc\d*"]},
        "targets": [{"region": "ap-southeast-1", "namespace": "demo"}],
    }
]


def sync_calls(emulator: Any) -> list[dict[str, Any]]:
    """The sync_images requests the emulator received: method, raw path, body."""
    return [
        {"method": r["method"], "path": r["path"], "body": r["body"]}
        for r in emulator.state.requests()
        if r["path"].split("?")[0].endswith("/sync_images")
    ]


def base_env(**overrides: Any) -> dict[str, str]:
    env = {
        "SWR_REGION": "cn-north-4",
        "SWR_ENDPOINT": "http://127.0.0.1:9",  # nothing listens: a test that needs SWR overrides it
        "SWR_AUTH_TOKEN": EMULATOR_TOKEN,
        "HTTP_MAX_ATTEMPTS": "2",
        "HTTP_BACKOFF_BASE": "0",
        "HTTP_BACKOFF_MAX": "0",
        "HTTP_TIMEOUT": "5",
        "WEBHOOK_SECRET": SECRET,
        "SYNC_RULES": json.dumps(RULES),
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value if isinstance(value, str) else json.dumps(value)
    return env


def make_settings(**overrides: Any) -> PushSyncSettings:
    return load_settings(PushSyncSettings, env_lookup(environ=base_env(**overrides)))


class Caller:
    """Runs the function through FunctionApp.run (the real guard rails) with given settings."""

    def __init__(self, settings: PushSyncSettings) -> None:
        self.settings = settings
        self.app: FunctionApp[PushSyncSettings] = FunctionApp("push-sync", PushSyncSettings, handle)
        self.app._settings = settings

    def __call__(
        self,
        body: bytes | str | dict[str, Any] | list[Any],
        headers: dict[str, str] | None = None,
        method: str = "POST",
        query: dict[str, list[str]] | None = None,
        auth: bool = True,
        trigger: str = "http",
        platform: str = "functiongraph",
        counts: dict[str, int] | None = None,
    ) -> Response:
        raw = (
            body
            if isinstance(body, bytes)
            else (body if isinstance(body, str) else json.dumps(body)).encode()
        )
        hdrs = {"content-type": "application/json"}
        if auth:
            hdrs["authorization"] = SECRET
        hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
        header_counts = {k: 1 for k in hdrs}
        header_counts.update(counts or {})
        request = Request(method, "/", hdrs, query or {}, raw, header_counts)
        invocation = Invocation(
            platform=platform,  # type: ignore[arg-type]
            trigger=trigger,  # type: ignore[arg-type]
            request=request,
            request_id="req-1",
            function_name="push-sync",
            remaining_ms=lambda: 30_000.0,
        )
        return self.app.run(invocation)


def load(name: str) -> dict[str, Any]:
    """A sample event of events/push-sync, as JSON."""
    data = json.loads((EVENTS / name).read_text())
    assert isinstance(data, dict)
    return data


def parse(data: Any, headers: dict[str, str] | None = None) -> ParseResult:
    return parse_payload(json.dumps(data).encode(), headers)


def pushes(result: ParseResult) -> list[tuple[str, str, str, str]]:
    return [(e.namespace, e.repository, e.tag, e.source) for e in result.events]


def body_of(response: Response) -> dict[str, Any]:
    data = json.loads(response.body)
    assert isinstance(data, dict)
    return data


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    idempotency.reset_stores()
    yield
    idempotency.reset_stores()
    logs.configure("INFO")


@pytest.fixture
def caller_for() -> Callable[..., Caller]:
    def build(**overrides: Any) -> Caller:
        return Caller(make_settings(**overrides))

    return build


@pytest.fixture
def seeded(emulator: Any) -> Any:
    """The emulator with demo/team/app (v1.2.3, v2, v3-rc1) and demo/team/api (v1) in cn-north-4, and the
    target namespace in ap-southeast-1."""
    state = emulator.state
    for tag in ("v1.2.3", "v2", "v3-rc1"):
        state.add_image("demo", "team/app", tag, DIGEST)
    state.add_image("demo", "team/api", "v1")
    state.add_namespace("demo", region="ap-southeast-1")
    return emulator


@pytest.fixture
def call(seeded: Any, caller_for: Callable[..., Caller]) -> Caller:
    """A caller wired to the seeded emulator with the default test rules."""
    return caller_for(SWR_ENDPOINT=seeded.url)


@pytest.fixture
def log_lines() -> Callable[[], list[dict[str, Any]]]:
    """Capture structured logs (DEBUG and up) as parsed JSON lines."""
    stream = io.StringIO()
    logs.configure("DEBUG", stream)

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    return read


# -- redis ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):  # CI must run every Redis-backed test against a real server, never skip them
            pytest.fail(
                "CI: redis-server is not installed (.ci/run installs the Debian package redis-server)"
            )
        pytest.skip(
            "redis-server binary not installed: the Redis-backed tests are skipped on this machine "
            "(apt-get install redis-server; CI installs it and never skips them)"
        )
    try:
        proc, url = realredis.start(binary)
    except realredis.RedisStartError as err:
        pytest.fail(str(err))
    try:
        yield url
    finally:
        realredis.stop(proc)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    return redis_server
