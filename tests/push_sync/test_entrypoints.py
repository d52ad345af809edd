"""The platform entry points with the sample events, a real webhook delivery, and the cold-start import."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from localdev.context import OpenFaaSEvent
from localdev.invoke import invoke
from tests.conftest import EMULATOR_TOKEN
from tests.firstcall import first_call
from tests.push_sync.conftest import EVENTS, RULES, sync_calls

SAMPLE_SECRET = "demo-webhook-secret"  # what the sample events carry
SYNC_PATH = "/v2/manage/namespaces/demo/repos/team%24app/sync_images"
EXPECTED_BODY = {
    "imageTag": ["v1.2.3"],
    "override": False,
    "remoteNamespace": "demo",
    "remoteRegionId": "ap-southeast-1",
}


@pytest.fixture
def app_env(seeded: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from functions.push_sync.index import APP

    env = {
        "SWR_REGION": "cn-north-4",
        "SWR_ENDPOINT": seeded.url,
        "SWR_AUTH_TOKEN": EMULATOR_TOKEN,
        "WEBHOOK_SECRET": SAMPLE_SECRET,
        "SYNC_RULES": json.dumps(RULES),
        "HTTP_MAX_ATTEMPTS": "2",
        "HTTP_BACKOFF_BASE": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    APP.reset()
    yield seeded
    APP.reset()


def load(name: str) -> dict[str, Any]:
    data = json.loads((EVENTS / name).read_text())
    assert isinstance(data, dict)
    return data


def test_apig_base64_sample(app_env: Any) -> None:
    result = invoke("push-sync", load("apig-harbor-base64.json"))
    assert result["statusCode"] == 200, result
    assert result["isBase64Encoded"] is False
    assert result["headers"]["X-Correlation-Id"] == "harbor-delivery-0001"
    body = json.loads(result["body"])
    assert body["results"][0]["status"] == "triggered"
    assert sync_calls(app_env) == [{"method": "POST", "path": SYNC_PATH, "body": EXPECTED_BODY}]


def test_apig_wrong_secret(app_env: Any) -> None:
    event = load("apig-harbor-base64.json")
    event["headers"]["authorization"] = "not-it"
    result = invoke("push-sync", event)
    assert result["statusCode"] == 401 and json.loads(result["body"]) == {"error": "unauthorized"}


def test_eventgrid_sample(app_env: Any) -> None:
    result = invoke("push-sync", load("eventgrid-harbor.json"))
    # Non-HTTP triggers get the JSON answer itself; the HTTP status is in summary.http_status.
    assert result["summary"]["http_status"] == 200
    assert result["results"][0]["status"] == "triggered"
    assert sync_calls(app_env) == [{"method": "POST", "path": SYNC_PATH, "body": EXPECTED_BODY}]


def test_openfaas_sample(app_env: Any) -> None:
    result = invoke("push-sync", load("openfaas-harbor.json"))
    assert result["statusCode"] == 200, result
    assert json.loads(result["body"])["results"][0]["status"] == "triggered"
    assert sync_calls(app_env) == [{"method": "POST", "path": SYNC_PATH, "body": EXPECTED_BODY}]


def test_openfaas_duplicate_authorization_header(app_env: Any) -> None:
    from functions.push_sync.index import handle

    class MultiHeaders:
        def __init__(self, pairs: list[tuple[str, str]]) -> None:
            self.pairs = pairs

        def items(self, multi: bool = False) -> list[tuple[str, str]]:
            return self.pairs

    event = OpenFaaSEvent(json.dumps(load("generic.json")).encode(), {})
    event.headers = MultiHeaders([("Authorization", SAMPLE_SECRET), ("Authorization", "other")])  # type: ignore[assignment]
    result = handle(event, None)
    assert result["statusCode"] == 401


def test_config_error_is_a_clean_500(seeded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.push_sync.index import APP

    monkeypatch.setenv("SWR_REGION", "cn-north-4")
    monkeypatch.setenv("SYNC_RULES", '[{"targets": [{"region": "nowhere", "namespace": "demo"}]}]')
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    APP.reset()
    try:
        result = invoke("push-sync", load("apig-harbor-base64.json"))
    finally:
        APP.reset()
    assert result["statusCode"] == 500
    problems = json.loads(result["body"])["problems"]
    assert (
        "SYNC_RULES: rules[0].targets[0].region: invalid region id 'nowhere' (expected e.g. 'cn-north-4')"
        in problems
    )
    assert any(p.startswith("WEBHOOK_SECRET: required") for p in problems)


class _Gateway(BaseHTTPRequestHandler):
    """A tiny APIG-like gateway: each POST becomes an OpenFaaS event for push-sync."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        from functions.push_sync.index import handle

        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        event = OpenFaaSEvent(body, dict(self.headers.items()), "POST", {}, self.path)
        result = handle(event, None)
        data = result["body"].encode()
        self.send_response(result["statusCode"])
        for key, value in result["headers"].items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.mark.parametrize(
    "fmt", ["harbor", "harbor-cloudevents", "distribution", "distribution-v1", "dockerhub", "zot"]
)
def test_real_webhook_delivery_from_the_emulator(app_env: Any, fmt: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/push-sync"
        app_env.add_webhook(url, fmt, {"Authorization": f"Bearer {SAMPLE_SECRET}"})
        app_env.push("demo", "team/app", "v9")
        (delivery,) = app_env.state.deliveries()
        assert delivery["status"] == 200, delivery
    finally:
        server.shutdown()
        server.server_close()
    body = {
        "imageTag": ["v9"],
        "override": False,
        "remoteNamespace": "demo",
        "remoteRegionId": "ap-southeast-1",
    }
    assert sync_calls(app_env) == [{"method": "POST", "path": SYNC_PATH, "body": body}]


def test_cold_start_imports_stay_light() -> None:
    code = (
        "import sys, functions.push_sync.index\n"
        "heavy = [m for m in ('redis', 'concurrent.futures.thread', 'asyncio', 'ssl') if m in sys.modules\n"
        "         and type(sys.modules[m]).__name__ != 'DeferredModule']\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_first_push_after_a_cold_start_imports_nothing(seeded: Any) -> None:
    """#22: the SWR client is imported with the handler, so the first call pays no import (only its work)."""
    env = {
        "SWR_REGION": "cn-north-4",
        "SWR_ENDPOINT": seeded.url,
        "SWR_AUTH_TOKEN": EMULATOR_TOKEN,
        "WEBHOOK_SECRET": SAMPLE_SECRET,
        "SYNC_RULES": json.dumps(RULES),
    }
    result = first_call("functions.push_sync.index", load("apig-harbor-base64.json"), env)
    assert result["status"] == 200, result["stderr"]
    # Settings (rules) are read by the first call; RULES use a regex, whose engine loads with the first one.
    assert set(result["new"]) <= {"re2", "re2._re2"}, result["new"]
