"""Secret hygiene: every function path runs with known secret values, and none of them may appear in any log
line, answer body or header, exception message, captured stdout/stderr, or outgoing alert.

Secrets: the SWR token, AK, SK, security token, IAM password, the IAM tokens the emulator issued to the
functions, the webhook secret, the export token, the monitor token, the alert webhook URL (and the two tokens
inside it), and the Redis URL's password. SWR error bodies are made to *echo* the credentials (as APIG does with
canonical requests), so the scrubbing of upstream messages is exercised too.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pytest_httpserver import HTTPServer

from localdev.context import FunctionGraphContext, OpenFaaSEvent
from localdev.emulator import Emulator
from shared.logs import logs
from shared.swr.auth import TokenAuth
from shared.swr.client import SwrClient
from shared.swr.errors import SwrSyncError
from shared.swr.http import RetryPolicy
from shared.swr.models import SyncImagesRequest
from tests.reliability import figures
from tests.reliability.support import (
    DST,
    SOURCE,
    apig_event,
    digest_of,
    function_env,
    harbor,
    reset_functions,
    timer_event,
)

SWR_TOKEN = "Hyg1ene-SWR-Token-0001-aaaaaaaa"
AK = "HYG1ENEAKVALUE0002"
SK = "Hyg1ene-Secret-Key-0003-bbbbbbbb"
SECURITY_TOKEN = "Hyg1ene-Security-Token-0004-cccc"
IAM_USER, IAM_PASSWORD, IAM_DOMAIN = "hygiene-user", "Hyg1ene-IAM-Password-0005", "hygiene-domain"
WEBHOOK_SECRET = "Hyg1ene-Webhook-Secret-0006-dddd"
EXPORT_TOKEN = "Hyg1ene-Export-Token-0007-eeeeee"
MONITOR_TOKEN = "Hyg1ene-Monitor-Token-0008-fffff"
ALERT_PATH_TOKEN = "Hyg1ene-Alert-Path-Token-0009"
ALERT_QUERY_TOKEN = "Hyg1ene-Alert-Query-Token-0010"
REDIS_PASSWORD = "Hyg1ene-Redis-Password-0011"
REDIS_URL = f"redis://:{REDIS_PASSWORD}@127.0.0.1:9/0"
STATIC = {
    "SWR_AUTH_TOKEN": SWR_TOKEN,
    "CLOUD_SDK_AK": AK,
    "CLOUD_SDK_SK": SK,
    "CLOUD_SDK_SECURITY_TOKEN": SECURITY_TOKEN,
    "IAM_PASSWORD": IAM_PASSWORD,
    "WEBHOOK_SECRET": WEBHOOK_SECRET,
    "EXPORT_TOKEN": EXPORT_TOKEN,
    "MONITOR_TOKEN": MONITOR_TOKEN,
    "alert URL path token": ALERT_PATH_TOKEN,
    "alert URL query token": ALERT_QUERY_TOKEN,
    "IDEMPOTENCY_REDIS_URL password": REDIS_PASSWORD,
}
AUTH_MODES = ("token", "aksk", "password")
# An upstream error that echoes the credentials the function sent (APIG echoes the canonical request...).
# A function can only mask what it knows, so each auth mode's echo holds that mode's credentials.
ECHOES = {
    "token": f"Incorrect authentication: X-Auth-Token {SWR_TOKEN}",
    "aksk": f"Incorrect authentication: Access={AK}, sk={SK}, X-Security-Token {SECURITY_TOKEN}",
    "password": f"Incorrect authentication: the password {IAM_PASSWORD} of {IAM_USER}",
}


def echo_body(auth: str) -> list[dict[str, str]]:
    return [{"errorCode": "SVCSTG.SWR.5000001", "errorMessage": ECHOES[auth], "detail": ECHOES[auth]}]


RULES = [{"namespace": "demo", "targets": [{"region": DST, "namespace": "demo"}]}]


@pytest.fixture
def hygiene_emulator() -> Iterator[Emulator]:
    emu = Emulator(
        port=0,
        static_tokens=(SWR_TOKEN,),
        aksk={AK: SK},
        users={IAM_USER: (IAM_PASSWORD, IAM_DOMAIN)},
    )
    emu.start()
    try:
        state = emu.state
        state.add_namespace("demo", region=DST)
        for repo in ("team/app", "team/api"):
            state.add_image("demo", repo, "v1", digest_of(repo))
            state.add_sync_repo("demo", repo, DST, "demo-dr", sync_auto=True, override=False)
        yield emu
    finally:
        emu.stop()
        reset_functions()


@dataclass
class Capture:
    """Everything observable from one function path."""

    capsys: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture
    stream: io.StringIO = field(default_factory=io.StringIO)
    texts: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.stream = io.StringIO()
        self.texts = []
        self.capsys.readouterr()
        self.caplog.clear()
        logs.configure("DEBUG", self.stream)

    def add(self, *items: Any) -> None:
        for item in items:
            self.texts.append(item if isinstance(item, str) else json.dumps(item, default=str))

    def text(self) -> str:
        out, err = self.capsys.readouterr()
        # The test's own HTTP servers (pytest-httpserver's werkzeug) log the URLs they are sent: not ours.
        records = [
            f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}"
            for r in self.caplog.records
            if not r.name.startswith("werkzeug")
        ]
        return "\n".join([self.stream.getvalue(), out, err, *records, *self.texts])


@dataclass
class Hygiene:
    emu: Emulator
    monkeypatch: pytest.MonkeyPatch
    capture: Capture
    httpserver: HTTPServer
    paths: list[str] = field(default_factory=list)

    def env(self, auth: str, **extra: str) -> dict[str, str]:
        env = {
            "SWR_REGION": SOURCE,
            "SWR_ENDPOINT": self.emu.url,
            "IAM_ENDPOINT": self.emu.url,
            "HTTP_MAX_ATTEMPTS": "2",
            "HTTP_BACKOFF_BASE": "0",
            "HTTP_BACKOFF_MAX": "0",
            "HTTP_TIMEOUT": "2",
            "LOG_LEVEL": "DEBUG",
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SYNC_RULES": json.dumps(RULES),
            "EXPORT_TOKEN": EXPORT_TOKEN,
            "MONITOR_TOKEN": MONITOR_TOKEN,
            "MONITOR_REPOS": "demo/team/app,demo/team/api",
        }
        if auth == "token":
            env["SWR_AUTH_TOKEN"] = SWR_TOKEN
        elif auth == "aksk":
            env.update(CLOUD_SDK_AK=AK, CLOUD_SDK_SK=SK, CLOUD_SDK_SECURITY_TOKEN=SECURITY_TOKEN)
        else:
            env.update(IAM_USERNAME=IAM_USER, IAM_PASSWORD=IAM_PASSWORD, IAM_DOMAIN=IAM_DOMAIN)
        env.update(extra)
        return env

    def secrets(self) -> dict[str, str]:
        out = dict(STATIC)
        out["ALERT_WEBHOOK_URL"] = self.alert_url()
        for i, token in enumerate(self.emu.state.tokens):
            out[f"IAM-issued token {i}"] = token
        return out

    def alert_url(self) -> str:
        return self.httpserver.url_for(f"/hook/{ALERT_PATH_TOKEN}") + f"?access_token={ALERT_QUERY_TOKEN}"

    def run(self, name: str, auth: str, action: Callable[[], Any], **env: str) -> Any:
        """Run one path with a fresh capture; every secret must be absent from everything it produced."""
        function_env(self.monkeypatch, **self.env(auth, **env))
        self.capture.start()
        result: Any = None
        try:
            result = action()
        except Exception as err:  # an escaping exception is a finding too, and its message is checked
            self.capture.add(f"{type(err).__name__}: {err}", repr(err))
            raise
        finally:
            self.capture.add(result)
            self.check(f"{name} [{auth}]")
        return result

    def check(self, path: str) -> None:
        text = self.capture.text()
        for label, value in self.secrets().items():
            variants = {value, quote(value, safe=""), json.dumps(value)[1:-1]}
            if label != "ALERT_WEBHOOK_URL" and len(value) >= 24:
                variants.add(value[:16])  # the start of a secret cut off by a length limit
            for variant in variants:
                position = text.find(variant)
                assert position < 0, (
                    f"{label} leaked on path {path!r}: ...{text[max(0, position - 200) : position + 60]}..."
                )
        self.paths.append(path)
        figures.add("secret hygiene paths checked")


@pytest.fixture
def hygiene(
    hygiene_emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    httpserver: HTTPServer,
) -> Iterator[Hygiene]:
    caplog.set_level(logging.DEBUG)
    h = Hygiene(hygiene_emulator, monkeypatch, Capture(capsys, caplog), httpserver)
    yield h
    assert h.paths, "no path was checked"


def fg(function: str, event: Any, timeout_s: float = 10.0) -> Any:
    from localdev.registry import load

    return load(function).handler(event, FunctionGraphContext(function, timeout_s=timeout_s))


def push_event(secret: str | None = WEBHOOK_SECRET, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    body = json.dumps(harbor("demo", "team/app", [("v1", digest_of("team/app"))])).encode()
    hdrs: dict[str, Any] = {"Content-Type": "application/json"}
    if secret is not None:
        hdrs["Authorization"] = secret
    hdrs.update(headers or {})
    return apig_event("POST", "/push-sync", hdrs, {}, body)


# -- push-sync ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", AUTH_MODES)
def test_push_sync_paths(hygiene: Hygiene, auth: str) -> None:
    state = hygiene.emu.state
    ok = hygiene.run("push-sync success", auth, lambda: fg("push-sync", push_event()))
    assert ok["statusCode"] == 200, ok

    state.add_fault(r"/sync_images$", status=503, body=echo_body(auth), times=0)
    failed = hygiene.run("push-sync SWR 503 echoing credentials", auth, lambda: fg("push-sync", push_event()))
    assert failed["statusCode"] == 503, failed
    state.clear_faults()

    state.add_fault(r"/sync_images$", status=401, body=echo_body(auth), times=0)
    refused = hygiene.run(
        "push-sync SWR 401 echoing credentials", auth, lambda: fg("push-sync", push_event())
    )
    assert refused["statusCode"] == 502, refused
    state.clear_faults()

    for label, event in (
        ("wrong secret", push_event("not-the-secret")),
        ("no secret", push_event(None)),
        ("folded Authorization", push_event(f"{WEBHOOK_SECRET}, x")),
        ("secret as a signature", push_event(None, {"X-Signature-256": WEBHOOK_SECRET})),
    ):
        answer = hygiene.run(
            f"push-sync webhook auth failure ({label})", auth, lambda e=event: fg("push-sync", e)
        )
        assert answer["statusCode"] == 401, answer


def test_push_sync_credentials_saved_with_a_trailing_newline(hygiene: Hygiene) -> None:
    """A token saved with `echo` (a Kubernetes secret, an .env file) ends in a newline. It is used without it:
    no HTTP header can carry one, and http.client's error would quote the header value, the credential."""
    for auth, extra in (
        ("token", {"SWR_AUTH_TOKEN": SWR_TOKEN + "\n"}),
        ("aksk", {"CLOUD_SDK_AK": AK + "\n", "CLOUD_SDK_SECURITY_TOKEN": SECURITY_TOKEN + "\r\n"}),
    ):
        answer = hygiene.run(
            "push-sync, credentials ending in a newline", auth, lambda: fg("push-sync", push_event()), **extra
        )
        assert answer["statusCode"] == 200, answer


def test_push_sync_credential_no_header_can_carry(hygiene: Hygiene) -> None:
    """A newline inside the token cannot be stripped: the call is refused naming the header, not its value."""
    broken = SWR_TOKEN[:10] + "\n" + SWR_TOKEN[10:]
    answer = hygiene.run(
        "push-sync, token with a newline inside",
        "token",
        lambda: fg("push-sync", push_event()),
        SWR_AUTH_TOKEN=broken,
    )
    assert answer["statusCode"] == 502 and "X-Auth-Token holds a character" in answer["body"], answer
    assert SWR_TOKEN[10:] not in hygiene.capture.text()


def test_push_sync_echo_cut_by_a_length_limit(hygiene: Hygiene) -> None:
    """A non-JSON error body is cut to 200 characters for the message; the token it echoes straddles the cut.
    Scrubbing after the cut would leave the token's first characters in the answer and the logs."""
    body = "<html><body>" + "401 Unauthorized. " * 8 + f"invalid X-Auth-Token {SWR_TOKEN}</body></html>"
    assert body.index(SWR_TOKEN) < 200 < body.index(SWR_TOKEN) + len(SWR_TOKEN)
    hygiene.emu.state.add_fault(
        r"/sync_images$", status=401, body=body, headers={"Content-Type": "text/html"}, times=0
    )
    answer = hygiene.run(
        "push-sync SWR 401, HTML body echoing the token across the cut",
        "token",
        lambda: fg("push-sync", push_event()),
    )
    assert answer["statusCode"] == 502, answer


def test_push_sync_error_code_and_request_id_echoing_the_token(hygiene: Hygiene) -> None:
    body = [
        {"errorCode": f"APIG.0301 X-Auth-Token={SWR_TOKEN}", "errorMessage": "Incorrect IAM authentication"}
    ]
    hygiene.emu.state.add_fault(
        r"/sync_images$", status=401, body=body, headers={"X-Request-Id": f"rid-{SWR_TOKEN}"}, times=0
    )
    answer = hygiene.run(
        "push-sync SWR 401 echoing the token in its error code and request id",
        "token",
        lambda: fg("push-sync", push_event()),
    )
    assert answer["statusCode"] == 502 and "APIG.0301" in answer["body"], answer


def test_push_sync_redis_unreachable_fails_open(hygiene: Hygiene) -> None:
    pytest.importorskip("redis")
    answer = hygiene.run(
        "push-sync with IDEMPOTENCY_REDIS_URL unreachable",
        "token",
        lambda: fg("push-sync", push_event()),
        IDEMPOTENCY_REDIS_URL=REDIS_URL,
    )
    assert answer["statusCode"] == 200, answer


def test_push_sync_configuration_invalid(hygiene: Hygiene) -> None:
    answer = hygiene.run(
        "push-sync configuration invalid",
        "token",
        lambda: fg("push-sync", push_event()),
        SYNC_RULES="[{not json",
        IDEMPOTENCY_REDIS_URL="http://:" + REDIS_PASSWORD + "@host/",
    )
    assert answer["statusCode"] == 500 and "configuration invalid" in answer["body"], answer


def test_push_sync_openfaas_secret_files(hygiene: Hygiene, tmp_path: Path) -> None:
    from functions.push_sync import index

    (tmp_path / "webhook-secret").write_text(WEBHOOK_SECRET + "\n")
    (tmp_path / "swr-auth-token").write_text(SWR_TOKEN)

    def call() -> Any:
        hygiene.monkeypatch.setenv("OPENFAAS_SECRETS_DIR", str(tmp_path))
        hygiene.monkeypatch.delenv("WEBHOOK_SECRET")
        hygiene.monkeypatch.delenv("SWR_AUTH_TOKEN")
        index.APP.reset()
        body = json.dumps(harbor("demo", "team/api", [("v1", digest_of("team/api"))])).encode()
        ok = index.handle(OpenFaaSEvent(body, {"Authorization": f"Bearer {WEBHOOK_SECRET}"}), None)
        bad = index.handle(OpenFaaSEvent(body, {"Authorization": "Bearer nope"}), None)
        return [ok, bad]

    ok, bad = hygiene.run("push-sync OpenFaaS with secret files", "token", call)
    assert ok["statusCode"] == 200 and bad["statusCode"] == 401, (ok, bad)


# -- job-monitor ----------------------------------------------------------------------------------------------


def _seed_failures(emu: Emulator) -> None:
    now = datetime.now(timezone.utc)
    for repo in ("team/app", "team/api"):
        emu.state.add_job("demo", repo, "v1", DST, "demo", "failed", now - timedelta(seconds=30))


def _monitor_env(h: Hygiene, smn: bool = True) -> dict[str, str]:
    env = {
        "ALERT_WEBHOOK_URL": h.alert_url(),
        "MONITOR_RESYNC": "false",
        "MONITOR_SETTLE_SECONDS": "0",
        "ALERT_TIMEOUT_SECONDS": "2",
    }
    if smn:
        env.update(
            SMN_TOPIC_URN="urn:smn:cn-north-4:0a1b2c3d4e5f:hygiene-alerts",
            SMN_ENDPOINT=h.httpserver.url_for("/smn"),
        )
    return env


def _outbound(h: Hygiene) -> list[str]:
    """What the alert webhook and SMN received: bodies and non-credential headers (the request target and the
    SMN auth header are where the secrets must go)."""
    credentials = ("x-auth-token", "authorization", "x-security-token", "x-sdk-date")
    out = []
    for request, _ in h.httpserver.log:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in credentials}
        out.append(json.dumps({"body": request.get_data(as_text=True), "headers": headers}))
    return out


@pytest.mark.parametrize("auth", AUTH_MODES)
def test_job_monitor_paths(hygiene: Hygiene, auth: str) -> None:
    h, server = hygiene, hygiene.httpserver
    _seed_failures(h.emu)
    server.expect_request(re.compile(r"^/hook/.*"), method="POST").respond_with_data("ok")
    server.expect_request(re.compile(r"^/smn/v2/.*/publish$"), method="POST").respond_with_json(
        {"request_id": "1"}
    )

    def timer() -> Any:
        report = fg("job-monitor", timer_event())
        h.capture.add(*_outbound(h))
        return report

    report = h.run("job-monitor alerts to webhook and SMN", auth, timer, **_monitor_env(h))
    assert report["failed_total"] == 2 and report["alerts_sent"] >= 1, report
    assert len(server.log) >= 2

    server.clear()
    server.expect_request(re.compile(r"^/hook/.*")).respond_with_data(
        f"denied {ALERT_QUERY_TOKEN}", status=500
    )
    server.expect_request(re.compile(r"^/smn/.*")).respond_with_json(
        {"error_code": "SMN.0001", "error_msg": ECHOES[auth]}, status=401
    )
    from functions.job_monitor.alerts import REPEAT_GUARD

    REPEAT_GUARD.clear()
    _seed_failures(h.emu)
    report = h.run("job-monitor alert delivery failing", auth, timer, **_monitor_env(h))
    assert report["alerts_failed"] >= 1, report

    def manual(token: str) -> Callable[[], Any]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        return lambda: fg("job-monitor", apig_event("POST", "/job-monitor", headers, {}, b'{"alert": false}'))

    assert h.run("job-monitor manual, wrong token", auth, manual("nope-nope-nope-nope"))["statusCode"] == 401
    assert h.run("job-monitor manual, right token", auth, manual(MONITOR_TOKEN))["statusCode"] == 200

    def openfaas_cron() -> Any:
        from functions.job_monitor import index

        return index.handle(OpenFaaSEvent(b"", {"X-Connector": "cron-connector"}), None)

    answer = h.run("job-monitor OpenFaaS cron (untrusted)", auth, openfaas_cron, **_monitor_env(h, smn=False))
    assert answer["statusCode"] == 200 and "failed" not in json.loads(answer["body"]), answer


def test_job_monitor_and_policy_export_with_a_token_ending_in_a_newline(hygiene: Hygiene) -> None:
    h = hygiene
    h.httpserver.expect_request(re.compile(r"^/hook/.*")).respond_with_data("ok")
    report = h.run(
        "job-monitor, SWR token ending in a newline",
        "token",
        lambda: fg("job-monitor", timer_event()),
        SWR_AUTH_TOKEN=SWR_TOKEN + "\n",
        **_monitor_env(h, smn=False),
    )
    assert report["statusCode"] == 200 and not report["not_scanned"], report
    answer = h.run(
        "policy-export, SWR token ending in a newline",
        "token",
        lambda: fg("policy-export", export_event()),
        SWR_AUTH_TOKEN=SWR_TOKEN + "\n",
    )
    assert answer["statusCode"] == 200 and json.loads(answer["body"])["count"] == 2, answer


def test_job_monitor_swr_refuses_everything(hygiene: Hygiene) -> None:
    h = hygiene
    h.httpserver.expect_request(re.compile(r"^/hook/.*")).respond_with_data("ok")
    h.emu.state.add_fault(r"/sync_job", status=401, body=echo_body("token"), times=0)
    report = h.run(
        "job-monitor SWR 401 echoing credentials",
        "token",
        lambda: fg("job-monitor", timer_event()),
        **_monitor_env(h, smn=False),
    )
    assert report["status"] == "swr_unavailable" and report["statusCode"] == 503, report


def test_job_monitor_alert_webhook_unreachable(hygiene: Hygiene) -> None:
    h = hygiene
    _seed_failures(h.emu)
    closed = f"http://127.0.0.1:9/hook/{ALERT_PATH_TOKEN}?access_token={ALERT_QUERY_TOKEN}"
    report = h.run(
        "job-monitor alert webhook unreachable",
        "token",
        lambda: fg("job-monitor", timer_event()),
        ALERT_WEBHOOK_URL=closed,
        MONITOR_RESYNC="false",
        MONITOR_SETTLE_SECONDS="0",
        ALERT_TIMEOUT_SECONDS="1",
    )
    assert report["alerts_failed"] >= 1, report


# -- policy-export --------------------------------------------------------------------------------------------


def export_event(token: str | None = EXPORT_TOKEN, query: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return apig_event("GET", "/policy-export", headers, query or {"namespace": "demo"})


@pytest.mark.parametrize("auth", AUTH_MODES)
def test_policy_export_paths(hygiene: Hygiene, auth: str) -> None:
    state = hygiene.emu.state
    ok = hygiene.run("policy-export success", auth, lambda: fg("policy-export", export_event()))
    assert ok["statusCode"] == 200 and json.loads(ok["body"])["count"] == 2, ok

    for label, token in (("wrong token", "not-the-export-token-0000"), ("no token", None)):
        answer = hygiene.run(
            f"policy-export 401 ({label})", auth, lambda t=token: fg("policy-export", export_event(t))
        )
        assert answer["statusCode"] == 401, answer

    state.add_fault(r"team\$app/sync_repo|team%24app/sync_repo", status=500, body=echo_body(auth), times=0)
    partial = hygiene.run(
        "policy-export partial (500 echoing credentials)", auth, lambda: fg("policy-export", export_event())
    )
    assert partial["statusCode"] == 200 and json.loads(partial["body"])["coverage_complete"] is False, partial
    state.clear_faults()

    state.add_fault(r"^/v2/manage/repos", status=403, body=echo_body(auth), times=0)
    refused = hygiene.run(
        "policy-export namespace listing refused", auth, lambda: fg("policy-export", export_event())
    )
    assert refused["statusCode"] == 502, refused
    state.clear_faults()

    state.add_fault(r"^/v2/manage/repos", reset=True, times=0)
    down = hygiene.run("policy-export SWR unreachable", auth, lambda: fg("policy-export", export_event()))
    assert down["statusCode"] == 503, down
    state.clear_faults()


# -- exceptions raised by the library itself ------------------------------------------------------------------


def test_client_exception_messages(hygiene: Hygiene) -> None:
    """The exceptions a caller of ``shared`` sees carry no secret, even when SWR echoes them."""

    def calls() -> list[str]:
        messages = []
        client = SwrClient(hygiene.emu.url, TokenAuth(SWR_TOKEN), policy=RetryPolicy(max_attempts=1))
        request = SyncImagesRequest(imageTag=["v1"], remoteNamespace="demo", remoteRegionId=DST)
        for fault in (
            {"status": 401, "body": echo_body("token")},
            {"status": 500, "body": ECHOES["token"]},
            {"status": 200, "body": ECHOES["token"]},  # not JSON
            {"reset": True},
        ):
            hygiene.emu.state.add_fault(r"/sync_images$", **fault)
            with pytest.raises(SwrSyncError) as info:
                client.sync_images("demo", "team/app", request)
            messages += [str(info.value), repr(info.value), repr(info.value.__dict__)]
            if hasattr(info.value, "to_dict"):
                messages.append(json.dumps(info.value.to_dict()))
        return messages

    hygiene.run("shared client exceptions", "token", calls)
