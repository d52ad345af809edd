"""Webhook authentication: header forms, HMAC signature, duplicates, triggers, startup refusal."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from functions.push_sync.webhook_auth import authenticate, signature
from shared.runtime.model import Request
from shared.swr.errors import ConfigError
from tests.push_sync.conftest import SECRET, Caller, body_of, make_settings, sync_calls

BODY = json.dumps(
    {"namespace": "demo", "repository": "team/app", "tags": ["v2"], "digest": "sha256:" + "ab" * 32}
).encode()


def req(headers: dict[str, str], body: bytes = BODY, counts: dict[str, int] | None = None) -> Request:
    lowered = {k.lower(): v for k, v in headers.items()}
    return Request("POST", "/", lowered, {}, body, counts or dict.fromkeys(lowered, 1))


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({"Authorization": SECRET}, True),
        ({"Authorization": f"Bearer {SECRET}"}, True),
        ({"Authorization": f"bearer   {SECRET}"}, True),
        ({"Authorization": f"  {SECRET}  "}, True),
        ({"Authorization": f"Basic {SECRET}"}, False),
        ({"Authorization": SECRET + "x"}, False),
        ({"Authorization": ""}, False),
        ({}, False),
        ({"X-Signature-256": signature(SECRET, BODY)}, True),
        ({"X-Signature-256": "sha256=" + signature(SECRET, BODY)}, True),
        ({"X-Signature-256": "SHA256=" + signature(SECRET, BODY).upper()}, True),
        ({"X-Signature-256": signature(SECRET, BODY + b" ")}, False),
        ({"X-Signature-256": signature("other", BODY)}, False),
        ({"X-Signature-256": "sha256="}, False),
        ({"Authorization": "wrong", "X-Signature-256": signature(SECRET, BODY)}, True),
        ({"Authorization": "Bearer é\udcff"}, False),
    ],
)
def test_authenticate(headers: dict[str, str], ok: bool) -> None:
    assert authenticate(req(headers), SECRET) is ok


def test_duplicate_headers_are_refused() -> None:
    assert not authenticate(req({"Authorization": SECRET}, counts={"authorization": 2}), SECRET)
    sig = {"X-Signature-256": signature(SECRET, BODY)}
    assert not authenticate(req(sig, counts={"x-signature-256": 2}), SECRET)


def test_custom_signature_header() -> None:
    headers = {"X-Hub-Signature": "sha256=" + signature(SECRET, BODY)}
    assert authenticate(req(headers), SECRET, "X-Hub-Signature")
    assert not authenticate(req(headers), SECRET)
    assert not authenticate(req({"Authorization": ""}), "")


def test_handler_answers_401_without_detail(call: Caller, seeded: Any) -> None:
    for headers, counts in (
        ({}, None),
        ({"authorization": "nope"}, None),
        ({"authorization": SECRET}, {"authorization": 2}),
    ):
        response = call(BODY, headers=headers, auth=False, counts=counts)
        assert response.status == 401
        assert body_of(response) == {"error": "unauthorized"}
    assert sync_calls(seeded) == []


def test_handler_accepts_every_form(call: Caller) -> None:
    sig = signature(SECRET, BODY)
    for headers in ({"authorization": f"Bearer {SECRET}"}, {"x-signature-256": f"sha256={sig}"}):
        assert call(BODY, headers=headers, auth=False).status == 200


def test_missing_secret_refuses_to_start() -> None:
    with pytest.raises(ConfigError) as info:
        make_settings(WEBHOOK_SECRET=None)
    assert info.value.problems == [
        "WEBHOOK_SECRET: required (or set WEBHOOK_ALLOW_UNAUTHENTICATED=true to accept unauthenticated webhooks)"
    ]
    with pytest.raises(ConfigError, match="WEBHOOK_SIGNATURE_HEADER"):
        make_settings(WEBHOOK_SIGNATURE_HEADER="bad header")


def test_unauthenticated_mode(seeded: Any, caller_for: Callable[..., Caller]) -> None:
    call = caller_for(SWR_ENDPOINT=seeded.url, WEBHOOK_SECRET=None, WEBHOOK_ALLOW_UNAUTHENTICATED="true")
    assert call(BODY, auth=False).status == 200


def test_functiongraph_event_triggers_are_not_http_authenticated(call: Caller) -> None:
    # EventGrid / direct invocations are authenticated by the platform.
    assert call(BODY, auth=False, trigger="event").status == 200


def test_openfaas_timer_header_does_not_bypass_auth(call: Caller) -> None:
    # On OpenFaaS every call arrives over HTTP; "X-Connector: cron-connector" is only a header.
    response = call(
        BODY, auth=False, trigger="timer", platform="openfaas", headers={"x-connector": "cron-connector"}
    )
    assert response.status == 401


def test_secret_is_never_logged(call: Caller, log_lines: Callable[[], list[dict[str, Any]]]) -> None:
    call(BODY, headers={"authorization": f"Bearer {SECRET}"}, auth=False)
    call(BODY, headers={"authorization": SECRET + "-wrong"}, auth=False)
    text = json.dumps(log_lines())
    assert SECRET not in text


def test_redis_url_checked_at_cold_start(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    with pytest.raises(ConfigError, match="IDEMPOTENCY_REDIS_URL: must be a redis"):
        make_settings(IDEMPOTENCY_REDIS_URL="http://x")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "redis" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"redis-py is not installed \(install swr-sync\[redis\]\)"):
        make_settings(IDEMPOTENCY_REDIS_URL="redis://127.0.0.1:6379/0")
