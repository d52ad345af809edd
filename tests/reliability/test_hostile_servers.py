"""Every outbound client of the library against every hostile server of the kit (tests/hostile.py).

The bound is asserted from the outside, by the wall clock around one call: whatever the server does (trickle,
silence, a body that never ends, garbage, a redirect, a connection that dies), the call ends within the
invocation's deadline plus a small slack, with the library's typed error (or, for alert sinks, a failed
delivery that says why), never a hang, never an untyped exception.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest

from functions.job_monitor.alerts import Alert
from functions.job_monitor.sinks import Delivery, SmnSink, WebhookSink
from functions.push_sync.idempotency import RedisStore, StoreUnavailable
from shared.state.deadline import bounded_by
from shared.swr.auth import IamPasswordAuth, TokenAuth, clear_token_cache
from shared.swr.client import SwrClient
from shared.swr.errors import SwrSyncError
from shared.swr.http import Deadline, RetryPolicy, UrllibTransport
from tests.hostile import HTTP_BEHAVIOURS, RESP_BEHAVIOURS, hostile_http, hostile_resp, timed
from tests.reliability.support import (
    EXPORT_TOKEN,
    WEBHOOK_SECRET,
    Outcome,
    export,
    function_env,
    monitor,
    push,
)

DEADLINE = 1.0  # the invocation's remaining time given to each call
SLACK = 0.6  # scheduling on a loaded 2-core machine; a per-recv timeout would overrun by many seconds
PER_ATTEMPT = 30.0  # far above the deadline: the deadline, not the attempt timeout, must end the call
TOKEN = "hostile-suite-token-0123456789abcdef"
ALERT = Alert("failed", "[swr-sync] sync failed: demo/app", ["job 1 failed"])


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


def _swr(url: str) -> object:
    client = SwrClient(
        url, TokenAuth(TOKEN), policy=RetryPolicy(timeout=PER_ATTEMPT), deadline=Deadline(DEADLINE)
    )
    return client.list_repos("demo", 50)


def _swr_jobs(url: str) -> object:
    client = SwrClient(
        url, TokenAuth(TOKEN), policy=RetryPolicy(timeout=PER_ATTEMPT), deadline=Deadline(DEADLINE)
    )
    return client.list_sync_jobs("demo", "app", 50)


def _iam(url: str) -> object:
    auth = IamPasswordAuth(
        url,
        "user",
        "iam-password-0123",
        "domain",
        "cn-north-4",
        UrllibTransport(),
        RetryPolicy(timeout=PER_ATTEMPT),
    )
    return auth.token(Deadline(DEADLINE))


def _iam_backed_swr(url: str) -> object:
    """SWR through IAM password auth: the token request and the SWR call share one deadline."""
    auth = IamPasswordAuth(
        url,
        "user",
        "iam-password-0123",
        "domain",
        "cn-north-4",
        UrllibTransport(),
        RetryPolicy(timeout=PER_ATTEMPT),
    )
    client = SwrClient(url, auth, policy=RetryPolicy(timeout=PER_ATTEMPT), deadline=Deadline(DEADLINE))
    return client.list_regions()


def _webhook(url: str) -> object:
    return WebhookSink(url + "/hook/secret-path", "generic", timeout=PER_ATTEMPT).send(
        ALERT, {}, Deadline(DEADLINE)
    )


def _smn(url: str) -> object:
    sink = SmnSink(url, "project-id", "urn:smn:cn-north-4:p:topic", TokenAuth(TOKEN), timeout=PER_ATTEMPT)
    return sink.send(ALERT, {}, Deadline(DEADLINE))


HTTP_CLIENTS: dict[str, Callable[[str], object]] = {
    "swr.list_repos": _swr,
    "swr.list_sync_jobs": _swr_jobs,
    "iam.token": _iam,
    "iam+swr": _iam_backed_swr,
    "alert.webhook": _webhook,
    "alert.smn": _smn,
}


def _failed_typed(outcome: object) -> bool:
    if isinstance(outcome, Delivery):
        return not outcome.ok and bool(outcome.error)
    return isinstance(outcome, SwrSyncError)


@pytest.mark.parametrize("behaviour", sorted(HTTP_BEHAVIOURS))
@pytest.mark.parametrize("client", sorted(HTTP_CLIENTS))
def test_http_client_ends_by_the_deadline_with_a_typed_failure(client: str, behaviour: str) -> None:
    with hostile_http(behaviour) as server:
        elapsed, outcome = timed(lambda: HTTP_CLIENTS[client](server.url))
    assert elapsed <= DEADLINE + SLACK, f"{client} vs {behaviour}: {elapsed:.2f}s ({outcome!r})"
    assert _failed_typed(outcome), f"{client} vs {behaviour}: {outcome!r}"
    assert server.connections >= 1  # the server was really reached


@pytest.mark.parametrize("behaviour", sorted(HTTP_BEHAVIOURS))
def test_redirect_and_errors_never_leak_the_webhook_path(behaviour: str) -> None:
    with hostile_http(behaviour) as server:
        _, outcome = timed(lambda: _webhook(server.url))
    assert isinstance(outcome, Delivery)
    assert "secret-path" not in outcome.error


@pytest.mark.parametrize("behaviour", sorted(RESP_BEHAVIOURS))
@pytest.mark.parametrize("bound", ["store_timeout", "invocation_deadline"])
def test_redis_store_ends_by_the_deadline(behaviour: str, bound: str) -> None:
    with hostile_resp(behaviour) as server:
        url = f"redis://127.0.0.1:{server.port}/0"
        if bound == "store_timeout":
            store = RedisStore(url, timeout=DEADLINE)

            def call() -> object:
                return store.claim("swr-sync:push-sync:v2:k", 5_000, "sha256:" + "0" * 64)

        else:
            store = RedisStore(url, timeout=PER_ATTEMPT)

            def call() -> object:
                with bounded_by(time.monotonic() + DEADLINE):
                    return store.claim("swr-sync:push-sync:v2:k", 5_000, "sha256:" + "0" * 64)

        elapsed, outcome = timed(call)
    assert isinstance(outcome, StoreUnavailable), f"{behaviour}: {outcome!r}"
    assert elapsed <= DEADLINE + SLACK, f"redis vs {behaviour}: {elapsed:.2f}s"
    assert server.connections >= 1


# -- the three functions, through their FunctionGraph entry points ---------------------------------------------

FUNCTION_DEADLINE = 3.0  # the FunctionGraph timeout given to each invocation
FUNCTION_SLACK = 1.0


def _run_function(function: str) -> Outcome:
    if function == "push-sync":
        return push({"namespace": "demo", "repository": "team/app", "tags": ["v1"]}, FUNCTION_DEADLINE)
    if function == "job-monitor":
        return monitor("", FUNCTION_DEADLINE)
    return export({"namespace": "demo"}, timeout_s=FUNCTION_DEADLINE)


@pytest.mark.parametrize("behaviour", ["trickle_body", "trickle_headers", "silent", "never_ending"])
@pytest.mark.parametrize("function", ["push-sync", "job-monitor", "policy-export"])
def test_each_function_answers_by_its_deadline_when_swr_is_hostile(
    monkeypatch: pytest.MonkeyPatch, function: str, behaviour: str
) -> None:
    rules = [
        {
            "namespace": "demo",
            "repository": "**",
            "targets": [{"region": "ap-southeast-1", "namespace": "dr"}],
        }
    ]
    with hostile_http(behaviour) as server:
        function_env(
            monkeypatch,
            SWR_REGION="cn-north-4",
            SWR_ENDPOINT=server.url,
            SWR_AUTH_TOKEN=TOKEN,
            HTTP_TIMEOUT="60",  # per attempt: far beyond the function's deadline
            SYNC_RULES=json.dumps(rules),
            WEBHOOK_SECRET=WEBHOOK_SECRET,
            MONITOR_REPOS="demo/app",
            EXPORT_TOKEN=EXPORT_TOKEN,
            LOG_LEVEL="ERROR",
        )
        out = _run_function(function)
    assert out.elapsed <= FUNCTION_DEADLINE + FUNCTION_SLACK, f"{function} vs {behaviour}: {out.elapsed:.2f}s"
    if function == "job-monitor":
        assert out.data["coverage_complete"] is False and out.data["not_scanned"], out.body
    else:
        assert out.status in (502, 503), out.body
