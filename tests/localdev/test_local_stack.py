"""The local stack (`swr-sync local`, what `make run` starts) driven over HTTP, and `swr-sync invoke`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from localdev import invoke as invoke_cli
from localdev.local_stack import DEMO_EXPORT_TOKEN, DEMO_MONITOR_TOKEN, DEMO_WEBHOOK_SECRET, LocalStack
from localdev.registry import FUNCTIONS, load

ROOT = Path(__file__).resolve().parents[2]


def _reset_functions() -> None:
    for name in FUNCTIONS:
        load(name).APP.reset()


@pytest.fixture
def clean_env():
    saved = dict(os.environ)
    _reset_functions()
    yield
    os.environ.clear()
    os.environ.update(saved)
    _reset_functions()


@pytest.fixture
def stack(clean_env):
    s = LocalStack("127.0.0.1", 0, monitor_interval=0)
    s.start()
    yield s
    s.stop()


def _call(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None):
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


def test_walkthrough_shows_push_sync_job_monitor_and_export(stack):
    lines: list[str] = []
    result = stack.walkthrough(lines.append)
    text = "\n".join(lines)
    assert result["sync_calls"] == 1  # the redelivery and the -dev tag caused no call
    assert result["job_states"][-1] == "success"
    assert "v1.0" in result["target_tags"]
    assert "POST /v2/manage/namespaces/demo/repos/team%24app/sync_images" in text
    assert "→ duplicate" in text
    assert "v1.1-dev → skipped" in text
    assert "demo,team/web,ap-southeast-1,demo,true,false" in text
    assert "missing   demo/team/app" in text
    # the push is proven in the target region (no Redis: the in-memory state store)
    assert result["replication"]["verified"] == 1
    assert "state store: memory): 1 verified, 0 pending, 0 missing" in text
    assert "demo/team/app:v1.0 -> ap-southeast-1/demo: verified (tag present in the target region)" in text


def test_gateway_serves_functions_like_their_triggers(stack):
    gw = stack.gateway.url
    generic = json.dumps({"namespace": "demo", "repository": "team/web", "tags": ["v0.9"]}).encode()
    status, _, _ = _call(f"{gw}/push-sync", "POST", generic, {"Content-Type": "application/json"})
    assert status == 401
    status, headers, body = _call(
        f"{gw}/push-sync",
        "POST",
        generic,
        {"Content-Type": "application/json", "Authorization": DEMO_WEBHOOK_SECRET},
    )
    assert status == 200, body
    answer = json.loads(body)
    assert [r["status"] for r in answer["results"]] == ["triggered"]
    assert headers.get("X-Correlation-Id")

    status, _, _ = _call(f"{gw}/policy-export?namespace=demo")
    assert status == 401
    status, headers, body = _call(
        f"{gw}/policy-export?namespace=demo&format=csv",
        headers={"Authorization": f"Bearer {DEMO_EXPORT_TOKEN}"},
    )
    assert status == 200
    assert body.decode().splitlines()[0].startswith("namespace,repository,remote_region_id")

    assert _call(f"{gw}/job-monitor", "POST", b"{}", {"Content-Type": "application/json"})[0] == 401
    status, _, body = _call(
        f"{gw}/job-monitor",
        "POST",
        b"{}",
        {"Content-Type": "application/json", "Authorization": f"Bearer {DEMO_MONITOR_TOKEN}"},
    )
    assert status == 200, body
    assert json.loads(body)["repositories_scanned"] >= 1

    assert _call(f"{gw}/nowhere")[0] == 404
    assert _call(f"{gw}/push-sync")[0] == 405


def test_swr_sync_local_prints_walkthrough_keeps_serving_and_stops_on_ctrl_c():
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SWR_", "IAM_", "WEBHOOK_", "EXPORT_", "MONITOR_"))
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "localdev.cli", "local", "--port", "0", "--monitor-interval", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            if line.startswith("serving"):
                break
        text = "\n".join(lines)
        assert "swr-sync local stack" in text
        assert "waiting → running → success" in text
        gateway = next(line.split()[1] for line in lines if line.strip().startswith("gateway"))
        assert _call(f"{gateway}/")[0] == 200  # still serving after the walkthrough
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "stopped" in rest


def test_invoke_runs_a_handler_with_an_event_file(clean_env, emulator, capsys, monkeypatch):
    emulator.state.add_image("demo", "team/app", "v1.2.3")
    emulator.state.add_namespace("demo", "ap-southeast-1")
    monkeypatch.setenv("SWR_ENDPOINT", emulator.url)
    monkeypatch.setenv("SWR_REGION", "cn-north-4")
    monkeypatch.setenv("SWR_AUTH_TOKEN", emulator.issue_token())
    monkeypatch.setenv("WEBHOOK_ALLOW_UNAUTHENTICATED", "true")
    monkeypatch.setenv(
        "SYNC_RULES",
        json.dumps([{"namespace": "demo", "targets": [{"region": "ap-southeast-1", "namespace": "demo"}]}]),
    )
    event = ROOT / "events" / "push-sync" / "generic.json"
    code = invoke_cli.main(["push-sync", "--event", str(event)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    syncs = [r for r in emulator.state.requests() if r["path"].endswith("/sync_images")]
    assert len(syncs) == 1
    assert out["statusCode"] == 200


def test_invoke_exits_non_zero_on_an_error_answer_and_on_a_bad_event_file(
    clean_env, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("SWR_REGION", "cn-north-4")
    monkeypatch.setenv("SWR_AUTH_TOKEN", "x" * 20)
    monkeypatch.setenv("WEBHOOK_ALLOW_UNAUTHENTICATED", "true")
    monkeypatch.setenv(
        "SYNC_RULES", json.dumps([{"targets": [{"region": "ap-southeast-1", "namespace": "demo"}]}])
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"httpMethod": "POST", "path": "/", "headers": {}, "body": "{not json"}))
    assert invoke_cli.main(["push-sync", "--event", str(bad)]) == 1
    assert json.loads(capsys.readouterr().out)["statusCode"] == 400
    missing = tmp_path / "missing.json"
    assert invoke_cli.main(["push-sync", "--event", str(missing)]) == 2


def test_gateway_answers_bad_or_oversized_content_length_without_reading_the_body(stack):
    import http.client

    host, port = stack.gateway.url.removeprefix("http://").split(":")
    for length, expected in (("abc", 400), (str(5 * 1024 * 1024), 413)):
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.putrequest("POST", "/push-sync")
        conn.putheader("Content-Length", length)
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == expected
        conn.close()
    assert not [r for r in stack.emulator.state.requests() if "sync_images" in r["path"]]
