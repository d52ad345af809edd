"""Fixtures of the foundation suite: isolation of process-wide state, log capture, clients on httpserver."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from shared.logs import logs, redact
from shared.swr.auth import Auth, TokenAuth, clear_token_cache
from shared.swr.client import SwrClient
from shared.swr.http import Deadline, RetryPolicy

TOKEN = "tok-FOUNDATION-1234567890"


@pytest.fixture(autouse=True)
def _isolated_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Token cache, registered secrets and log configuration never leak between tests."""
    clear_token_cache()
    monkeypatch.setattr(redact, "_secrets", set())
    monkeypatch.setattr(redact, "_forms", ())
    monkeypatch.setattr(redact, "_pattern", None)
    yield
    clear_token_cache()
    logs.clear_invocation()
    logs.reset()


class LogCapture:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def captured_logs() -> LogCapture:
    capture = LogCapture()
    logs.configure("DEBUG", stream=capture.stream)
    return capture


class Sleeps(list[float]):
    """A ``sleep`` that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class MaxJitter(random.Random):
    """Full jitter that always picks the cap: makes backoff deterministic."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(httpserver: HTTPServer, sleeps: Sleeps) -> Callable[..., SwrClient]:
    def make(
        auth: Auth | None = None,
        max_attempts: int = 4,
        deadline: Deadline | None = None,
        timeout: float = 2.0,
        **policy: Any,
    ) -> SwrClient:
        return SwrClient(
            endpoint=httpserver.url_for("/"),
            auth=auth or TokenAuth(TOKEN),
            policy=RetryPolicy(
                max_attempts=max_attempts, timeout=timeout, sleep=sleeps, rng=MaxJitter(), **policy
            ),
            deadline=deadline or Deadline(None),
        )

    return make


def raw_uris(httpserver: HTTPServer) -> list[str]:
    """The request targets exactly as they went on the wire (pytest-httpserver matches on decoded paths)."""
    return [req.environ["REQUEST_URI"] for req, _ in httpserver.log]
