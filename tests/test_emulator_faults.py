"""Fault injection, persistence, reset, admin state and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from localdev.emulator import Emulator
from shared.swr.auth import TokenAuth
from shared.swr.client import SwrClient
from shared.swr.errors import ApiError, TransportError
from shared.swr.http import RetryPolicy
from tests.test_emulator_support import TOKEN, call

NS = "/v2/manage/namespaces"
ROOT = Path(__file__).resolve().parents[1]


def _fault(emulator, **spec):
    status, _, fault = call(emulator.url, "POST", "/_emulator/faults", spec, token=None)
    assert status == 200, fault
    return fault


def test_status_fault_fires_times_then_clears(emulator):
    _fault(emulator, path="/v2/manage/namespaces$", status=503, times=2)
    assert call(emulator.url, "GET", NS)[0] == 503
    status, headers, body = call(emulator.url, "GET", NS)
    assert status == 503 and headers["x-request-id"] and body[0]["errorCode"]
    assert call(emulator.url, "GET", NS)[0] == 200
    assert [r["status"] for r in emulator.state.requests()] == [503, 503, 200]
    assert emulator.state.requests()[0]["fault"] is not None


def test_fault_with_custom_body_headers_and_method(emulator):
    _fault(
        emulator,
        method="POST",
        path="sync_images",
        status=409,
        body=[{"errorCode": "SVCSTG.SWR.4090023", "errorMessage": "busy", "detail": ""}],
        headers={"Retry-After": "0"},
    )
    emulator.state.add_image("ns1", "app", "v1")
    assert (
        call(emulator.url, "GET", "/v2/manage/namespaces/ns1/repos/app/tags")[0] == 200
    )  # GET does not match
    body = {"imageTag": ["v1"], "remoteNamespace": "ns1", "remoteRegionId": "ap-southeast-1"}
    status, headers, err = call(emulator.url, "POST", "/v2/manage/namespaces/ns1/repos/app/sync_images", body)
    assert status == 409 and err[0]["errorMessage"] == "busy" and headers["retry-after"] == "0"
    assert emulator.state.jobs() == []  # the fault answered instead of SWR


def test_forever_fault_and_delete(emulator):
    _fault(emulator, path="namespaces", status=500, times=0)
    for _ in range(3):
        assert call(emulator.url, "GET", NS)[0] == 500
    assert call(emulator.url, "DELETE", "/_emulator/faults", token=None)[0] == 200
    assert call(emulator.url, "GET", NS)[0] == 200


def test_client_retries_through_busy_fault(emulator):
    emulator.state.add_namespace("ns1")
    emulator.state.add_fault(
        "namespaces", status=409, body=[{"errorCode": "SVCSTG.SWR.4090023", "errorMessage": "busy"}], times=2
    )
    client = SwrClient(
        emulator.url, TokenAuth(TOKEN), policy=RetryPolicy(base_delay=0.001, sleep=lambda s: None)
    )
    assert [n.name for n in client.list_namespaces()] == ["ns1"]
    assert client.stats.retries == 2


def test_delay_fault(emulator):
    _fault(emulator, path="regions", delay=0.3)
    started = time.monotonic()
    assert call(emulator.url, "GET", "/v2/manage/regions")[0] == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    call(emulator.url, "GET", "/v2/manage/regions")
    assert time.monotonic() - started < 0.3


def test_delay_fault_times_out_the_client(emulator):
    emulator.state.add_fault("regions", delay=0.5)
    client = SwrClient(emulator.url, TokenAuth(TOKEN), policy=RetryPolicy(max_attempts=1, timeout=0.1))
    with pytest.raises(TransportError):
        client.list_regions()


def test_reset_fault_drops_the_connection(emulator):
    _fault(emulator, path="namespaces", reset=True)
    req = urllib.request.Request(emulator.url + NS, headers={"X-Auth-Token": TOKEN})
    with pytest.raises((ConnectionError, urllib.error.URLError, OSError)):
        urllib.request.urlopen(req, timeout=5).read()
    assert call(emulator.url, "GET", NS)[0] == 200
    assert emulator.state.requests()[0]["status"] == "reset"
    client = SwrClient(emulator.url, TokenAuth(TOKEN), policy=RetryPolicy(max_attempts=1))
    emulator.state.add_fault("namespaces", reset=True)
    with pytest.raises(TransportError):
        client.list_namespaces()


@pytest.mark.parametrize(
    "spec",
    [{"path": "("}, {"path": "x"}, {"path": "x", "status": 99}, {"path": "x", "status": 500, "times": -1},
     {"path": "x", "delay": -1}, {"path": "x", "status": 500, "colour": 1}, {"status": 500}],
)  # fmt: skip
def test_invalid_fault_definitions(emulator, spec):
    assert call(emulator.url, "POST", "/_emulator/faults", spec, token=None)[0] == 400


def test_admin_paths_are_never_faulted(emulator):
    _fault(emulator, path=".*", status=500, times=0)
    assert call(emulator.url, "GET", "/_emulator/state", token=None)[0] == 200
    assert call(emulator.url, "GET", NS)[0] == 500


def test_reset_clears_everything_but_tokens(emulator):
    token = emulator.issue_token()
    emulator.state.add_image("ns1", "app", "v1")
    emulator.state.add_fault("x", status=500)
    call(emulator.url, "GET", NS)
    assert call(emulator.url, "POST", "/_emulator/reset", token=None)[0] == 200
    snapshot = call(emulator.url, "GET", "/_emulator/state", token=None)[2]
    assert snapshot["namespaces"] == [] and snapshot["faults"] == [] and snapshot["requests"] == []
    assert call(emulator.url, "GET", NS, token=token)[0] == 200


def test_state_snapshot_shape(emulator):
    emulator.state.add_image("ns1", "group/app", "v1", digest="sha256:" + "3" * 64, region="ap-southeast-1")
    emulator.state.add_job("ns1", "group/app", "v1", region="ap-southeast-1", status="success")
    snap = call(emulator.url, "GET", "/_emulator/state", token=None)[2]
    assert set(snap) >= {
        "namespaces",
        "repositories",
        "tags",
        "sync_jobs",
        "sync_repos",
        "webhooks",
        "requests",
    }
    assert snap["tags"] == [
        {"region": "ap-southeast-1", "namespace": "ns1", "repository": "group/app", "tag": "v1",
         "digest": "sha256:" + "3" * 64, "size": snap["tags"][0]["size"]}
    ]  # fmt: skip
    assert snap["sync_jobs"][0]["region"] == "ap-southeast-1"


def test_state_file_persists_across_restarts(tmp_path):
    path = tmp_path / "emu.json"
    with Emulator(state_file=path, static_tokens=(TOKEN,)) as emu:
        emu.state.add_image("ns1", "group/app", "v1", digest="sha256:" + "4" * 64)
        token = emu.issue_token()
        call(
            emu.url,
            "POST",
            "/_emulator/images",
            {"namespace": "ns1", "repository": "group/app", "tag": "v2"},
            token=None,
        )
        emu.state.add_job("ns1", "group/app", "v1", status="failed")
        emu.state.add_sync_repo("ns1", "group/app", "ap-southeast-1", "ns1")
        assert path.exists()  # saved on change, before stop
        saved_v2 = emu.state.tags("ns1", "group/app")["v2"]
    data = json.loads(path.read_text())
    assert data["version"] == 1
    with Emulator(state_file=path, static_tokens=(TOKEN,)) as emu:
        assert emu.state.tags("ns1", "group/app") == {"v1": "sha256:" + "4" * 64, "v2": saved_v2}
        assert [j["status"] for j in emu.state.jobs()] == ["failed"]
        assert len(emu.state.sync_repos()) == 1
        assert call(emu.url, "GET", NS, token=token)[0] == 200  # IAM tokens survive too
        emu.state.add_image("ns1", "x", "v1")
        assert emu.state.jobs()[0]["id"] == 1 and emu.state.add_job("ns1", "x", "v1") == 2


def test_cli_prints_listening_line_and_stops_on_ctrl_c(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "localdev.cli", "emulator", "--port", "0", "--token", "cli-token",
         "--state", str(tmp_path / "s.json")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:")
        url = first.removeprefix("listening on ")
        port = int(url.rsplit(":", 1)[1])
        assert port > 0
        assert call(url, "GET", NS, token="cli-token")[0] == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert (tmp_path / "s.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_cli_rejects_bad_aksk():
    from localdev.emulator.cli import main

    assert main(["--aksk", "nocolon"]) == 2


def test_unknown_admin_endpoint_and_api_error_shape(emulator):
    status, _, body = call(emulator.url, "GET", "/_emulator/nothing", token=None)
    assert status == 404 and "error" in body
    with pytest.raises(ApiError):
        SwrClient(emulator.url, TokenAuth("not-a-valid-token-here")).list_namespaces()


# -- job outcome faults (proof of replication) -------------------------------------------------------------


def test_job_faults_succeed_without_the_tag_or_with_another_image(emulator: Emulator) -> None:
    state = emulator.state
    state.add_image("demo", "app", "v1", "sha256:" + "aa" * 32)
    state.add_image("demo", "app", "v2", "sha256:" + "aa" * 32)
    state.add_namespace("demo", region="ap-southeast-1")
    req = urllib.request.Request(
        emulator.url + "/_emulator/job-faults",
        data=json.dumps({"outcome": "no_tag", "tag": "v1"}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        assert json.loads(resp.read())["outcome"] == "no_tag"
    state.add_job_fault("other_digest", tag="v2")
    state.create_sync_jobs("demo", "app", ["v1", "v2"], "ap-southeast-1", "demo")
    state.waiting_seconds = state.running_seconds = 0
    jobs = {j["tag"]: j for j in state.jobs()}
    assert jobs["v1"]["status"] == jobs["v2"]["status"] == "success"
    target = state.tags("demo", "app", "ap-southeast-1")
    assert "v1" not in target and target["v2"] != "sha256:" + "aa" * 32
    assert state.job_faults == []  # each fired once
    # a normal job after them copies the image as it is
    state.create_sync_jobs("demo", "app", ["v1"], "ap-southeast-1", "demo")
    assert state.tags("demo", "app", "ap-southeast-1")["v1"] == "sha256:" + "aa" * 32
