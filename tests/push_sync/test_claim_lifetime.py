"""Locks that outlive nothing: an idempotency claim lives as long as the sync calls it protects can take, not
the function's maximum timeout, and a release that fails on a store blip is retried within the invocation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from functions.push_sync import app as push_app
from functions.push_sync.idempotency import MemoryStore, StoreUnavailable
from tests.push_sync.conftest import DIGEST, Caller, body_of, make_settings, sync_calls

PUSH = {"namespace": "demo", "repository": "team/app", "tags": ["v2"], "digest": DIGEST}


def _pending(caller_settings: Any, tags: int) -> list[push_app.TagWork]:
    from functions.push_sync.decide import decide
    from functions.push_sync.detect import parse_payload

    body = dict(PUSH, tags=[f"t{i}" for i in range(tags)])
    import json

    parsed = parse_payload(json.dumps(body).encode(), {})
    return [push_app.TagWork(d) for d in decide(parsed.events, caller_settings.rules, "cn-north-4")]


def test_the_claim_lives_as_long_as_the_calls_not_as_the_function_timeout() -> None:
    settings = make_settings(
        HTTP_TIMEOUT="10", HTTP_MAX_ATTEMPTS="4", HTTP_BACKOFF_MAX="5", SYNC_CONCURRENCY="8"
    )
    one_tag = _pending(settings, 1)
    # A 900 s function (FunctionGraph's maximum): the claim lasts one call's worst case (4 x (10 + 5) s) plus
    # the margin, 65 s, not 900 s.
    assert push_app.claim_ttl_ms(settings, one_tag, 900_000) == 65_000
    # Twenty tags run 8 at a time: three rounds of calls.
    many = _pending(settings, 20)
    assert push_app.claim_ttl_ms(settings, many, 900_000) == (3 * 60 + 5) * 1000
    # Never longer than the invocation has left, never shorter than 5 s.
    assert push_app.claim_ttl_ms(settings, many, 30_000) == 30_000
    quick = make_settings(HTTP_TIMEOUT="0.1", HTTP_MAX_ATTEMPTS="1", HTTP_BACKOFF_MAX="0")
    assert push_app.claim_ttl_ms(quick, _pending(quick, 1), 900_000) == 5_100


def test_a_crashed_delivery_blocks_its_redelivery_only_for_the_claim_lifetime() -> None:
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    settings = make_settings()
    ttl = push_app.claim_ttl_ms(settings, _pending(settings, 1), 900_000)
    first = store.claim("k", ttl, "sha256:a")
    assert first.state == "acquired"  # ...and the instance dies before settling
    now[0] += ttl / 1000 - 1
    assert store.claim("k", ttl, "sha256:a").state == "busy"  # still syncing, as far as anyone knows
    now[0] += 2
    assert store.claim("k", ttl, "sha256:a").state == "acquired"  # minutes before a 900 s lock would end


class _FlakyStore(MemoryStore):
    """A MemoryStore whose first ``failures`` releases and completions fail like a Redis blip."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.attempts = 0

    def _blip(self) -> None:
        self.attempts += 1
        if self.failures > 0:
            self.failures -= 1
            raise StoreUnavailable("redis: ConnectionError")

    def release(self, key: str, token: str) -> None:
        self._blip()
        super().release(key, token)

    def complete(self, key: str, token: str, result: dict[str, Any], ttl_seconds: int) -> None:
        self._blip()
        super().complete(key, token, result, ttl_seconds)


@pytest.mark.parametrize("failures", [1, 2])
def test_a_failed_release_is_retried_so_the_redelivery_is_not_refused(
    seeded: Any, caller_for: Callable[..., Caller], monkeypatch: pytest.MonkeyPatch, failures: int
) -> None:
    store = _FlakyStore(failures)
    monkeypatch.setattr(push_app, "get_store", lambda *_a: store)
    seeded.state.add_fault("sync_images", status=500, times=10)  # the sync fails: its claim must be released
    call = caller_for(SWR_ENDPOINT=seeded.url, HTTP_MAX_ATTEMPTS="1")
    first = call(PUSH)
    assert first.status == 503
    assert store.attempts == failures + 1
    seeded.state.clear_faults()
    second = call(PUSH)  # the registry's redelivery: synced now, not 409 "in progress"
    assert second.status == 200, body_of(second)
    assert body_of(second)["results"][0]["status"] == "triggered"
    assert len(sync_calls(seeded)) >= 1


def test_a_failed_completion_is_retried_so_the_duplicate_is_recognised(
    seeded: Any, caller_for: Callable[..., Caller], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _FlakyStore(1)
    monkeypatch.setattr(push_app, "get_store", lambda *_a: store)
    call = caller_for(SWR_ENDPOINT=seeded.url)
    assert body_of(call(PUSH))["results"][0]["status"] == "triggered"
    assert body_of(call(PUSH))["results"][0]["status"] == "duplicate"
    assert len(sync_calls(seeded)) == 1
