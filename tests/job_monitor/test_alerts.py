"""Alert delivery to real loopback receivers (pytest-httpserver): every chat format, SMN publish, retries,
failures that are reported, and the webhook URL never showing up in logs or reports."""

from __future__ import annotations

import io
import json
import socket
from typing import Any

import pytest
from freezegun import freeze_time
from pytest_httpserver import HTTPServer

from tests.conftest import EMULATOR_TOKEN
from tests.job_monitor.conftest import T0, Harness

TITLE = "[swr-sync] sync failed: team/app:v1 -> ap-southeast-1/team"
LINES = [
    "job 1 failed (created 2025-06-02 11:58:20Z, updated 2025-06-02 11:58:23Z)",
    "re-sync: disabled",
]
TEXT = "\n".join([TITLE, *LINES])
PROJECT = "0123456789abcdef0123456789abcdef"
URN = f"urn:smn:ap-southeast-1:{PROJECT}:swr-alerts"


def one_due_failure(harness: Harness, **env: Any) -> dict[str, Any]:
    """One failed key that becomes due in this run; re-sync disabled so it is alerted at once."""
    with freeze_time(T0):
        harness.job("v1", "failed", age=100)
        return harness.run(harness.settings(MONITOR_RESYNC="false", MONITOR_SETTLE_SECONDS=0, **env))


def esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


EXPECTED = {
    "slack": {
        "text": esc(TEXT),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{esc(TITLE)}*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": esc("\n".join(LINES))}},
        ],
    },
    "feishu": {"msg_type": "text", "content": {"text": TEXT}},
    "dingtalk": {"msgtype": "text", "text": {"content": TEXT}},
    "wecom": {"msgtype": "text", "text": {"content": TEXT}},
}
ANSWERS = {
    "slack": ("ok", "text/plain"),
    "feishu": (json.dumps({"code": 0, "msg": "success"}), "application/json"),
    "dingtalk": (json.dumps({"errcode": 0, "errmsg": "ok"}), "application/json"),
    "wecom": (json.dumps({"errcode": 0, "errmsg": "ok"}), "application/json"),
}


@pytest.mark.parametrize("fmt", ["slack", "feishu", "dingtalk", "wecom"])
def test_chat_formats_are_pinned(harness: Harness, httpserver: HTTPServer, fmt: str) -> None:
    body, ctype = ANSWERS[fmt]
    httpserver.expect_oneshot_request(
        "/hook/secret-token",
        method="POST",
        json=EXPECTED[fmt],
        headers={"Content-Type": "application/json; charset=utf-8"},
    ).respond_with_data(body, content_type=ctype)
    report = one_due_failure(
        harness, ALERT_WEBHOOK_URL=httpserver.url_for("/hook/secret-token"), ALERT_FORMAT=fmt
    )
    httpserver.check_assertions()
    assert report["alerts_sent"] == 1 and report["alerts_failed"] == 0
    assert report["alerts"][0]["deliveries"] == [
        {"sink": "webhook", "ok": True, "attempts": 1, "status": 200}
    ]


def test_generic_format(harness: Harness, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("")
    report = one_due_failure(harness, ALERT_WEBHOOK_URL=httpserver.url_for("/hook"), ALERT_FORMAT="GENERIC")
    [(request, _)] = httpserver.log
    body = request.get_json()
    assert body["source"] == "swr-sync/job-monitor"
    assert body["kind"] == "failed" and body["cause"] is None
    assert body["title"] == TITLE and body["text"] == TEXT
    assert body["function"] == "job-monitor" and body["correlation_id"] == "test-run"
    [key] = body["keys"]
    assert key["tag"] == "v1" and key["job_id"] == 1 and key["status"] == "failed"
    assert key["target_region"] == "ap-southeast-1" and key["resync"] == "disabled"
    assert report["alerts_sent"] == 1


def test_smn_publish_is_pinned(harness: Harness, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        f"/v2/{PROJECT}/notifications/topics/{URN}/publish",
        method="POST",
        json={"subject": TITLE, "message": TEXT},
        headers={"X-Auth-Token": EMULATOR_TOKEN, "Content-Type": "application/json"},
    ).respond_with_json({"request_id": "abc", "message_id": "m-1"})
    report = one_due_failure(
        harness,
        SMN_TOPIC_URN=URN,
        SMN_ENDPOINT=httpserver.url_for("/").rstrip("/"),
        CLOUD_SDK_PROJECT_ID=PROJECT,
    )
    httpserver.check_assertions()
    [(request, _)] = httpserver.log
    assert (
        "/topics/urn%3Asmn%3Aap-southeast-1%3A" in request.environ["RAW_URI"]
    )  # the URN is one path segment
    assert report["alerts"][0]["deliveries"] == [{"sink": "smn", "ok": True, "attempts": 1, "status": 200}]
    assert report["alerts_sent"] == 1


def test_smn_project_id_from_runtime_and_aksk_signing(harness: Harness, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/v2/runtime-project/notifications/topics/" + URN + "/publish", method="POST"
    ).respond_with_json({"message_id": "m-2"})
    report = one_due_failure(
        harness,
        SMN_TOPIC_URN=URN,
        SMN_ENDPOINT=httpserver.url_for("/").rstrip("/"),
        RUNTIME_PROJECT_ID="runtime-project",
        SWR_AUTH_TOKEN="",
        CLOUD_SDK_AK="EMULATORTESTAK",
        CLOUD_SDK_SK="emulator-test-sk",
    )
    [(request, _)] = httpserver.log
    assert request.headers["Authorization"].startswith("SDK-HMAC-SHA256 Access=EMULATORTESTAK")
    assert request.headers["X-Sdk-Date"]
    assert report["alerts_sent"] == 1


def test_webhook_and_smn_together_and_smn_failure_reported(harness: Harness, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    httpserver.expect_request(f"/v2/{PROJECT}/notifications/topics/{URN}/publish").respond_with_json(
        {"error_code": "SMN.0001", "error_msg": "internal"}, status=500
    )
    report = one_due_failure(
        harness,
        ALERT_WEBHOOK_URL=httpserver.url_for("/hook"),
        SMN_TOPIC_URN=URN,
        SMN_ENDPOINT=httpserver.url_for("/").rstrip("/"),
    )
    [alert] = report["alerts"]
    webhook, smn = alert["deliveries"]
    assert webhook["ok"] is True
    assert smn["ok"] is False and smn["attempts"] == 2 and smn["status"] == 500  # one retry
    assert report["alerts_failed"] == 1 and report["alerts_sent"] == 0


def test_one_retry_after_5xx(harness: Harness, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook").respond_with_data("busy", status=503)
    httpserver.expect_oneshot_request("/hook").respond_with_data("ok")
    report = one_due_failure(harness, ALERT_WEBHOOK_URL=httpserver.url_for("/hook"))
    assert len(httpserver.log) == 2
    assert report["alerts"][0]["deliveries"][0] == {
        "sink": "webhook",
        "ok": True,
        "attempts": 2,
        "status": 200,
    }


def test_4xx_is_not_retried_and_is_reported(
    harness: Harness, httpserver: HTTPServer, log_stream: io.StringIO
) -> None:
    httpserver.expect_request("/hook").respond_with_data("gone", status=404)
    report = one_due_failure(harness, ALERT_WEBHOOK_URL=httpserver.url_for("/hook"))
    assert len(httpserver.log) == 1
    assert report["alerts_failed"] == 1
    assert report["alerts"][0]["deliveries"][0]["error"] == "HTTP 404"
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    [lost] = [line for line in lines if line["message"] == "alert not delivered"]
    assert lost["text"] == TEXT and lost["level"] == "error"  # the alert's content survives in the logs


def test_platform_error_in_a_200_answer_is_a_failure(harness: Harness, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robot/send").respond_with_json(
        {"errcode": 310000, "errmsg": "keywords not in content"}
    )
    report = one_due_failure(
        harness, ALERT_WEBHOOK_URL=httpserver.url_for("/robot/send"), ALERT_FORMAT="dingtalk"
    )
    assert len(httpserver.log) == 1  # not retried: it would fail the same way
    delivery = report["alerts"][0]["deliveries"][0]
    assert delivery["ok"] is False and "310000" in delivery["error"]
    assert report["alerts_failed"] == 1


def test_unreachable_webhook_never_leaks_its_url(harness: Harness, log_stream: io.StringIO) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connection refused
    url = f"http://127.0.0.1:{port}/services/T000/B000/XXXXsecretXXXX?access_token=abcdef123456"
    report = one_due_failure(harness, ALERT_WEBHOOK_URL=url, ALERT_FORMAT="slack", ALERT_TIMEOUT_SECONDS=1)
    delivery = report["alerts"][0]["deliveries"][0]
    assert delivery["ok"] is False and delivery["attempts"] == 2
    assert report["alerts_failed"] == 1
    for text in (json.dumps(report), log_stream.getvalue()):
        assert "XXXXsecretXXXX" not in text and "abcdef123456" not in text and str(port) not in text


def test_no_sink_alerts_are_logged(harness: Harness, log_stream: io.StringIO) -> None:
    report = one_due_failure(harness)
    assert report["alerting_configured"] is False
    assert report["alerts"][0]["deliveries"] == []
    assert report["alerts_sent"] == 0 and report["alerts_failed"] == 0
    assert '"message":"alert (no sink configured: logged only)"' in log_stream.getvalue()


def test_dry_run_shows_alerts_without_sending(harness: Harness, httpserver: HTTPServer) -> None:
    report = one_due_failure(
        harness, ALERT_WEBHOOK_URL=httpserver.url_for("/hook"), ALERT_FORMAT="wecom", MONITOR_DRY_RUN="true"
    )
    assert httpserver.log == []
    [alert] = report["alerts"]
    assert alert["dry_run"] is True and alert["payload"] == EXPECTED["wecom"]
