"""Entry points with the sample events: FunctionGraph TIMER (JSON and plain user_event), OpenFaaS
cron-connector, manual HTTP (APIG) with the bearer token, and the HTTP status rules."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from freezegun import freeze_time
from pytest_httpserver import HTTPServer

from functions.job_monitor import index
from tests.job_monitor.conftest import T0, Harness

EVENTS = Path(__file__).resolve().parents[2] / "events" / "job-monitor"
TOKEN = "change-me-to-MONITOR_TOKEN-value"  # what events/job-monitor/manual-apig.json presents


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


class Context:
    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def getRequestID(self) -> str:
        return "req-123"

    def getRemainingTimeInMilliSeconds(self) -> int:
        return self.remaining_ms

    def getFunctionName(self) -> str:
        return "job-monitor"

    def getUserData(self, name: str) -> str | None:
        return None


@pytest.fixture
def env(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def apply(**extra: Any) -> None:
        # The sample events name the local emulator's demo repository, demo/team/app.
        for key, value in harness.env(**{"MONITOR_REPOS": "demo/team/app", **extra}).items():
            monkeypatch.setenv(key, value)
        for key, value in extra.items():
            if value == "":
                monkeypatch.delenv(key, raising=False)
        index.APP.reset()

    index.APP.reset()
    yield apply
    index.APP.reset()


@pytest.fixture
def seeded(harness: Harness) -> Harness:
    harness.state.add_image("demo", "team/app", "v1")
    with freeze_time(T0):
        harness.job("v1", "failed", age=60, repo="demo/team/app")
    return harness


def fg(evt: dict[str, Any], context: Any = None) -> Any:
    with freeze_time(T0):
        return index.handler(evt, context or Context())


def test_timer_with_json_user_event_overrides(env: Any, seeded: Harness) -> None:
    env(MONITOR_REPOS="other/none")
    result = fg(event("timer.json"))  # {"namespaces": ["demo"], "dry_run": true}
    assert result["trigger"] == "functiongraph:timer"
    assert result["dry_run"] is True
    assert result["repositories_scanned"] == 1 and result["failed_total"] == 1
    assert result["failed"][0]["resync"] == "dry_run"
    assert seeded.requests("sync_images") == []
    assert seeded.requests("/v2/manage/repos")  # the namespace was discovered, not MONITOR_REPOS


def test_timer_with_plain_text_user_event_runs_defaults(env: Any, seeded: Harness) -> None:
    env()
    result = fg(event("timer-plain.json"))
    assert result["dry_run"] is False
    assert result["failed"][0]["resync"] == "issued"
    assert len(seeded.requests("sync_images", "POST")) == 1


def test_timer_unknown_keys_warn_and_bad_values_refuse(env: Any, seeded: Harness) -> None:
    env()
    evt = event("timer.json")
    evt["user_event"] = json.dumps({"message": "hi", "dry_run": True})
    result = fg(evt)
    assert result["warnings"] == ["ignored unknown override(s): message"] and result["dry_run"] is True
    evt["user_event"] = json.dumps({"dry_run": "perhaps"})
    refused = fg(evt)
    assert refused["error"] == "invalid overrides" and refused["problems"][0].startswith("dry_run:")
    assert seeded.requests("sync_images") == []


def openfaas_event(body: bytes | str = b"", headers: dict[str, str] | None = None) -> Any:
    raw = event("openfaas-cron.json")
    return SimpleNamespace(
        method=raw["method"],
        path=raw["path"],
        headers={**raw["headers"], **(headers or {})},
        body=body if body != b"" else raw["body"],
        query={},
    )


def test_openfaas_cron_connector(env: Any, seeded: Harness) -> None:
    env()
    with freeze_time(T0):
        answer = index.handle(openfaas_event(), None)
    assert answer["statusCode"] == 200
    report = json.loads(answer["body"])
    assert report["trigger"] == "openfaas:timer" and report["failed_total"] == 1
    assert report["failed"][0]["resync"] == "issued"


def test_openfaas_cron_with_token_ignores_body_and_answers_counts_only(env: Any, seeded: Harness) -> None:
    env(MONITOR_TOKEN=TOKEN)
    with freeze_time(T0):
        answer = index.handle(openfaas_event(body=json.dumps({"repos": ["evil/x"], "dry_run": False})), None)
    report = json.loads(answer["body"])
    assert answer["statusCode"] == 200
    assert report["failed_total"] == 1 and "failed" not in report  # no names for an unauthenticated caller
    assert report["repositories_scanned"] == 1  # MONITOR_REPOS, not the body's repos


def test_manual_apig_call_with_token(env: Any, seeded: Harness, log_stream: io.StringIO) -> None:
    env(MONITOR_TOKEN=TOKEN)
    answer = fg(event("manual-apig.json"))
    assert answer["statusCode"] == 200
    assert answer["headers"]["X-Correlation-Id"] == "manual-check-0001"
    report = json.loads(answer["body"])
    assert report["trigger"] == "functiongraph:http" and report["dry_run"] is True
    assert report["healthy"] is False and report["failed_total"] == 1
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    [logged] = [line for line in lines if line["message"] == "job-monitor report"]
    assert logged["failed_total"] == 1 and logged["correlation_id"] == "manual-check-0001"
    assert TOKEN not in log_stream.getvalue()


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"headers": {"authorization": "Bearer wrong-token-wrong-token"}}, 401),
        ({"headers": {}}, 401),
        ({"httpMethod": "PUT"}, 405),
        ({"httpMethod": "GET", "headers": {"authorization": "Bearer wrong-token-wrong-token"}}, 401),
        ({"body": "not json"}, 400),
        ({"body": "[1, 2]"}, 400),
        ({"body": json.dumps({"dry_run": True, "surprise": 1})}, 400),
        ({"body": json.dumps({"repos": ["NoSlash"]})}, 400),
    ],
)
def test_manual_call_refusals(env: Any, seeded: Harness, change: dict[str, Any], status: int) -> None:
    env(MONITOR_TOKEN=TOKEN)
    evt = {**event("manual-apig.json"), **change}
    answer = fg(evt)
    assert answer["statusCode"] == status
    assert "error" in json.loads(answer["body"])
    assert seeded.requests("sync_job") == []


def test_manual_call_without_configured_token_is_open(env: Any, seeded: Harness) -> None:
    env()
    evt = {**event("manual-apig.json"), "headers": {}, "body": ""}
    answer = fg(evt)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["failed"][0]["resync"] == "issued"


def test_swr_down_answers_503_with_the_report(env: Any, seeded: Harness) -> None:
    env()
    seeded.state.add_fault(r"/sync_job", status=403, times=None)
    answer = fg({**event("manual-apig.json"), "headers": {}})
    assert answer["statusCode"] == 503
    report = json.loads(answer["body"])
    assert report["status"] == "swr_unavailable" and report["not_scanned"][0]["reason"] == "auth"


def test_configuration_problems_are_listed(env: Any, seeded: Harness) -> None:
    env(MONITOR_LOOKBACK_SECONDS=60, MONITOR_REPOS="bad", ALERT_FORMAT="teams")
    result = fg(event("timer-plain.json"))
    assert result["error"] == "configuration invalid"
    problems = " | ".join(result["problems"])
    assert (
        "ALERT_FORMAT" in problems and "MONITOR_LOOKBACK_SECONDS" in problems and "MONITOR_REPOS" in problems
    )


def test_no_scope_is_an_error(env: Any, seeded: Harness) -> None:
    env(MONITOR_REPOS="")
    result = fg(event("timer-plain.json"))
    assert result["error"].startswith("no scope")


# -- side effects only for their trigger ---------------------------------------------------------------------
# Anyone who reaches an OpenFaaS gateway can send "X-Connector: cron-connector": a run alerts or re-syncs only
# when it is authenticated (a FunctionGraph timer, or MONITOR_TOKEN as bearer token). Without MONITOR_TOKEN (an
# open function by configuration), repeated runs in one period do not repeat alerts or re-syncs (per instance).

CRON = {"X-Connector": "cron-connector", "X-Topic": "cron-function"}


def _openfaas(headers: dict[str, str]) -> dict[str, Any]:
    with freeze_time(T0):
        answer = index.handle(openfaas_event(headers=headers), None)
    assert answer["statusCode"] == 200
    return json.loads(answer["body"])


def _alerts(httpserver: HTTPServer) -> int:
    return sum(1 for req, _ in httpserver.log if req.path == "/hook")


@pytest.mark.parametrize("resync", ["true", "false"])  # a re-synced key is not alerted: test both
def test_a_forged_cron_header_neither_alerts_nor_resyncs(
    env: Any, seeded: Harness, httpserver: HTTPServer, resync: str
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    env(
        MONITOR_TOKEN=TOKEN,
        ALERT_WEBHOOK_URL=httpserver.url_for("/hook"),
        MONITOR_SETTLE_SECONDS="0",
        MONITOR_RESYNC=resync,
    )
    for _ in range(3):
        report = _openfaas(CRON)
        assert report["failed_total"] == 1  # it still observes: counts only
    assert seeded.requests("sync_images") == []
    assert _alerts(httpserver) == 0


@pytest.mark.parametrize("resync", ["true", "false"])
def test_the_same_call_with_the_bearer_token_alerts_and_resyncs(
    env: Any, seeded: Harness, httpserver: HTTPServer, resync: str
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    env(
        MONITOR_TOKEN=TOKEN,
        ALERT_WEBHOOK_URL=httpserver.url_for("/hook"),
        MONITOR_SETTLE_SECONDS="0",
        MONITOR_RESYNC=resync,
    )
    report = _openfaas({**CRON, "Authorization": f"Bearer {TOKEN}"})
    if resync == "true":
        assert report["failed"][0]["resync"] == "issued"
        assert len(seeded.requests("sync_images")) == 1
    else:
        assert _alerts(httpserver) == 1


def test_without_a_token_repeated_runs_in_one_period_do_not_repeat_side_effects(
    env: Any, seeded: Harness, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    env(ALERT_WEBHOOK_URL=httpserver.url_for("/hook"), MONITOR_RESYNC="false", MONITOR_SETTLE_SECONDS="0")
    first = _openfaas(CRON)
    assert _alerts(httpserver) == 1 and not first.get("warnings")
    for _ in range(3):
        again = _openfaas({})  # a plain POST or a forged cron header: the same
        assert any("observe only" in w for w in again.get("warnings", [])), again.get("warnings")
    assert _alerts(httpserver) == 1


def test_a_functiongraph_timer_is_authenticated_by_the_platform(env: Any, seeded: Harness) -> None:
    env(MONITOR_TOKEN=TOKEN)
    result = fg(event("timer-plain.json"))
    assert result["failed"][0]["resync"] == "issued"
