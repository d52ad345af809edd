"""Concurrent duplicate deliveries: one sync, the other waits and answers duplicate (or 409 in progress)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from shared.runtime.model import Response
from tests.push_sync.conftest import DIGEST, Caller, body_of, sync_calls

PUSH = {"namespace": "demo", "repository": "team/app", "tags": ["v2"], "digest": DIGEST}


def deliver_together(callers: list[Caller], body: Any) -> list[Response]:
    barrier = threading.Barrier(len(callers))
    responses: list[Response | None] = [None] * len(callers)

    def run(i: int) -> None:
        barrier.wait()
        responses[i] = callers[i](body)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(callers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


@pytest.fixture(params=["memory", "redis"])
def store_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "memory":
        return {}
    return {"IDEMPOTENCY_REDIS_URL": request.getfixturevalue("redis_url")}


def test_concurrent_duplicates_sync_once(
    seeded: Any, caller_for: Callable[..., Caller], store_env: dict[str, str]
) -> None:
    # Two "instances" (separate apps and settings) sharing the store; the first sync is slow.
    seeded.state.add_fault("sync_images", delay=0.2, times=1)
    callers = [caller_for(SWR_ENDPOINT=seeded.url, **store_env) for _ in range(2)]
    responses = deliver_together(callers, PUSH)
    assert [r.status for r in responses] == [200, 200]
    statuses = sorted(body_of(r)["results"][0]["status"] for r in responses)
    assert statuses == ["duplicate", "triggered"]
    assert len(sync_calls(seeded)) == 1


def test_in_progress_answers_409(
    seeded: Any, caller_for: Callable[..., Caller], store_env: dict[str, str]
) -> None:
    seeded.state.add_fault("sync_images", delay=0.2, times=1)
    first = caller_for(SWR_ENDPOINT=seeded.url, **store_env)
    second = caller_for(SWR_ENDPOINT=seeded.url, IDEMPOTENCY_WAIT_SECONDS="0", **store_env)
    answers: list[Response] = []
    thread = threading.Thread(target=lambda: answers.append(first(PUSH)))
    thread.start()
    deadline = time.monotonic() + 5
    while not sync_calls(seeded) and time.monotonic() < deadline:
        time.sleep(0.01)  # until the first delivery's sync_images is in flight
    response = second(PUSH)
    thread.join(10)
    assert response.status == 409 and response.headers["Retry-After"] == "30"
    (result,) = body_of(response)["results"]
    assert result["status"] == "in_progress"
    assert answers[0].status == 200
    assert second(PUSH).status == 200  # once done: duplicate
    assert body_of(second(PUSH))["results"][0]["status"] == "duplicate"
    assert len(sync_calls(seeded)) == 1


def test_redis_shared_across_instances(
    seeded: Any, caller_for: Callable[..., Caller], redis_url: str
) -> None:
    from functions.push_sync import idempotency

    a = caller_for(SWR_ENDPOINT=seeded.url, IDEMPOTENCY_REDIS_URL=redis_url)
    assert a(PUSH).status == 200
    idempotency.reset_stores()  # a different warm instance: no in-process state survives
    b = caller_for(SWR_ENDPOINT=seeded.url, IDEMPOTENCY_REDIS_URL=redis_url)
    assert body_of(b(PUSH))["results"][0]["status"] == "duplicate"
    assert len(sync_calls(seeded)) == 1


def test_redis_down_fails_open(
    seeded: Any, caller_for: Callable[..., Caller], log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    pytest.importorskip("redis")
    call = caller_for(SWR_ENDPOINT=seeded.url, IDEMPOTENCY_REDIS_URL="redis://127.0.0.1:1/0")
    response = call(PUSH)
    assert response.status == 200 and body_of(response)["results"][0]["status"] == "triggered"
    assert len(sync_calls(seeded)) == 1
    warnings = [line for line in log_lines() if line["level"] == "warning"]
    assert warnings and warnings[0]["message"] == "idempotency store unavailable: proceeding without"
    assert "127.0.0.1:1" not in str(warnings)  # the Redis URL is a secret: never logged
