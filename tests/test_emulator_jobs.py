"""Sync job lifecycle, driven by freezegun (the emulator's default clock follows it)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from localdev.emulator import Emulator, StateError
from localdev.emulator.state import EmulatorState
from shared.swr.auth import TokenAuth
from shared.swr.client import SwrClient
from shared.swr.models import SyncImagesRequest
from tests.test_emulator_support import TOKEN, call

DIGEST = "sha256:" + "1" * 64
OTHER = "sha256:" + "2" * 64


def _sync(emu, tag="v1", target_ns="ns1", region="ap-southeast-1", override=False):
    body = {"imageTag": [tag], "remoteNamespace": target_ns, "remoteRegionId": region, "override": override}
    status, _, failed = call(emu.url, "POST", "/v2/manage/namespaces/ns1/repos/group$app/sync_images", body)
    assert status == 200
    return failed


def _statuses(emu):
    _, _, jobs = call(
        emu.url, "GET", "/v2/manage/namespaces/ns1/repos/group$app/sync_job?filter=limit::10|offset::0"
    )
    return [j["status"] for j in jobs]


def test_waiting_running_success_copies_the_image():
    with freeze_time("2026-05-01 10:00:00") as frozen, Emulator(static_tokens=(TOKEN,)) as emu:
        emu.state.add_image("ns1", "group/app", "v1", digest=DIGEST)
        emu.state.add_namespace("ns1", "ap-southeast-1")
        assert _sync(emu) == []
        assert _statuses(emu) == ["waiting"]
        frozen.tick(timedelta(seconds=0.999))
        assert _statuses(emu) == ["waiting"]
        frozen.tick(timedelta(seconds=0.001))
        assert _statuses(emu) == ["running"]
        assert emu.state.tags("ns1", "group/app", "ap-southeast-1") == {}
        frozen.tick(timedelta(seconds=2))
        assert _statuses(emu) == ["success"]
        assert emu.state.tags("ns1", "group/app", "ap-southeast-1") == {"v1": DIGEST}
        job = emu.state.jobs()[0]
        assert job["createdAt"] == "2026-05-01T10:00:00.000000Z"
        assert job["updatedAt"] == "2026-05-01T10:00:03.000000Z"
        # the target region lists the new repository through the API
        _, _, repos = call(emu.region_url("ap-southeast-1"), "GET", "/v2/manage/repos?namespace=ns1")
        assert [r["name"] for r in repos] == ["group/app"]


def test_existed_when_identical_image_is_in_target():
    with freeze_time("2026-05-01") as frozen, Emulator(static_tokens=(TOKEN,)) as emu:
        emu.state.add_image("ns1", "group/app", "v1", digest=DIGEST)
        emu.state.add_image("ns1", "group/app", "v1", digest=DIGEST, region="ap-southeast-1")
        _sync(emu)
        frozen.tick(timedelta(seconds=3))
        assert _statuses(emu) == ["existed"]


def test_failed_when_target_namespace_missing():
    with freeze_time("2026-05-01") as frozen, Emulator(static_tokens=(TOKEN,)) as emu:
        emu.state.add_image("ns1", "group/app", "v1")
        _sync(emu, target_ns="absent")
        frozen.tick(timedelta(seconds=3))
        assert _statuses(emu) == ["failed"]
        assert "does not exist" in emu.state.jobs()[0]["reason"]
        assert not emu.state.has_namespace("absent", "ap-southeast-1")


@pytest.mark.parametrize(
    ("override", "expected", "digest_after"), [(False, "failed", OTHER), (True, "success", DIGEST)]
)
def test_different_digest_in_target_depends_on_override(override, expected, digest_after):
    with freeze_time("2026-05-01") as frozen, Emulator(static_tokens=(TOKEN,)) as emu:
        emu.state.add_image("ns1", "group/app", "v1", digest=DIGEST)
        emu.state.add_image("ns1", "group/app", "v1", digest=OTHER, region="ap-southeast-1")
        _sync(emu, override=override)
        frozen.tick(timedelta(seconds=3))
        assert _statuses(emu) == [expected]
        assert emu.state.tags("ns1", "group/app", "ap-southeast-1") == {"v1": digest_after}


def test_jobs_finish_in_id_order_and_second_one_exists():
    with freeze_time("2026-05-01") as frozen, Emulator(static_tokens=(TOKEN,)) as emu:
        emu.state.add_image("ns1", "group/app", "v1")
        emu.state.add_namespace("ns1", "ap-southeast-1")
        _sync(emu)
        _sync(emu)
        frozen.tick(timedelta(seconds=10))
        assert _statuses(emu) == ["existed", "success"]  # newest first


def test_forced_status_pins_the_job(emulator):
    emulator.state.add_image("ns1", "group/app", "v1")
    _sync(emulator)
    job_id = emulator.state.jobs()[0]["id"]
    status, _, job = call(
        emulator.url, "POST", f"/_emulator/jobs/{job_id}", {"status": "timeout"}, token=None
    )
    assert status == 200 and job["status"] == "timeout"
    assert _statuses(emulator) == ["timeout"]
    assert call(emulator.url, "POST", f"/_emulator/jobs/{job_id}", {"status": "bogus"}, token=None)[0] == 400
    assert call(emulator.url, "POST", "/_emulator/jobs/999", {"status": "failed"}, token=None)[0] == 404
    emulator.state.force_job_status(job_id, "cancel")
    assert emulator.state.get_job(job_id)["status"] == "cancel"
    with pytest.raises(StateError):
        emulator.state.force_job_status(job_id, "done")


def test_injected_clock_and_zero_durations():
    now = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    state = EmulatorState(clock=lambda: now[0], waiting_seconds=0, running_seconds=0)
    state.add_image("ns1", "app", "v1")
    state.add_namespace("ns1", "ap-southeast-3")
    failed, ids = state.create_sync_jobs("ns1", "app", ["v1", "v9"], "ap-southeast-3", "ns1")
    assert failed == ["v9"] and len(ids) == 1
    assert state.get_job(ids[0])["status"] == "success"
    assert state.tags("ns1", "app", "ap-southeast-3") == state.tags("ns1", "app")


def test_auto_sync_policy_creates_jobs_on_push(emulator):
    emulator.state.add_image("ns1", "group/app", "v1")
    client = SwrClient(emulator.url, TokenAuth(TOKEN))
    from shared.swr.catalog import SyncRepoRequest

    client.create_sync_repo(
        "ns1",
        "group/app",
        SyncRepoRequest(remoteRegionId="ap-southeast-1", remoteNamespace="ns1", syncAuto=True),
    )
    client.create_sync_repo(
        "ns1",
        "group/app",
        SyncRepoRequest(remoteRegionId="ap-southeast-3", remoteNamespace="ns1", syncAuto=False),
    )
    status, _, pushed = call(
        emulator.url,
        "POST",
        "/_emulator/images",
        {"namespace": "ns1", "repository": "group/app", "tag": "v2"},
        token=None,
    )
    assert status == 200 and len(pushed["sync_jobs"]) == 1
    jobs = emulator.state.jobs()
    assert [(j["tag"], j["remoteRegionId"]) for j in jobs] == [("v2", "ap-southeast-1")]
    # pushing to another repository creates nothing
    emulator.push("ns1", "other", "v1")
    assert len(emulator.state.jobs()) == 1


def test_client_polls_job_to_success():
    with freeze_time("2026-05-01") as frozen, Emulator(static_tokens=(TOKEN,)) as emu:
        emu.state.add_image("ns1", "group/app", "v1")
        emu.state.add_namespace("ns2", "ap-southeast-3")
        client = SwrClient(emu.url, TokenAuth(TOKEN))
        req = SyncImagesRequest(imageTag=["v1"], remoteNamespace="ns2", remoteRegionId="ap-southeast-3")
        assert client.sync_images("ns1", "group/app", req) == []
        seen = []
        for _ in range(5):
            job = client.list_sync_jobs("ns1", "group/app", limit=1).items[0]
            seen.append(job.status.value)
            frozen.tick(timedelta(seconds=1))
        assert seen == ["waiting", "running", "running", "success", "success"]


def test_seed_bulk_is_fast_and_pages_correctly(emulator):
    import time

    started = time.monotonic()
    status, _, result = call(
        emulator.url,
        "POST",
        "/_emulator/seed",
        {"namespace": "bulk", "repositories": 300, "tags_per_repo": 3, "jobs_per_repo": 10},
        token=None,
    )
    assert status == 200 and (result["repositories"], result["tags"], result["jobs"]) == (300, 900, 3000)
    assert time.monotonic() - started < 5
    _, headers, repos = call(emulator.url, "GET", "/v2/manage/repos?namespace=bulk&limit=100&offset=200")
    assert headers["content-range"] == "200-100/300" and repos[0]["name"] == "repo-0200"
    _, headers, jobs = call(
        emulator.url, "GET", "/v2/manage/namespaces/bulk/repos/repo-0007/sync_job?filter=limit::4|offset::8"
    )
    assert headers["content-range"] == "8-2/10" and all(j["status"] == "success" for j in jobs)
    assert call(emulator.url, "POST", "/_emulator/seed", {"namespace": "Bad!"}, token=None)[0] == 400
    assert (
        call(emulator.url, "POST", "/_emulator/seed", {"namespace": "x", "repositories": -1}, token=None)[0]
        == 400
    )
