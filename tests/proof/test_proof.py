"""Every triggered tag is proven in the target region, or re-synced and alerted (issue #18's "must show")."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from freezegun import freeze_time
from pytest_httpserver import HTTPServer

from tests.job_monitor.conftest import T0
from tests.proof.conftest import DIGEST, DIGEST2, DST, Stack


def kinds(report: dict[str, Any]) -> list[str]:
    return [a["kind"] for a in report["alerts"]]


def test_push_triggered_then_verified_with_lag(stack: Stack) -> None:
    with freeze_time(T0) as clock:
        answer = stack.push()
        assert answer["http_status"] == 200
        [intent] = stack.intents()
        assert (intent.status, intent.region, intent.target_namespace, intent.digest) == (
            "pending",
            DST,
            "demo",
            DIGEST,
        )
        assert intent.swr_answer == [] and intent.delivery_id == answer["correlation_id"]
        clock.tick(timedelta(seconds=30))
        report = stack.run()
    proof = report["replication"]
    assert (proof["verified"], proof["pending"], proof["missing"], proof["failed"]) == (1, 0, 0, 0)
    assert proof["tag_listings"] == 1
    # push to arrival: the job's waiting + running time in the emulator, not the 30 s until the run
    took = stack.state_emu.waiting_seconds + stack.state_emu.running_seconds
    assert proof["lag_seconds"][DST] == {"p50": took, "p95": took, "samples": 1}
    assert report["healthy"] and report["state"] == {"backend": stack.store.name, "degraded": False}
    assert stack.intents() == []  # settled: no longer open
    # the target's tag listing was read on the target region's endpoint
    [listing] = [r for r in stack.state_emu.requests() if r["path"].split("?")[0].endswith("/tags")]
    assert listing["path"].startswith(f"/regions/{DST}/") and listing["region"] == DST


def test_a_redelivery_records_the_intent_once(stack: Stack) -> None:
    with freeze_time(T0):
        stack.push()
        assert stack.push()["results"][0]["status"] == "duplicate"
        assert len(stack.intents()) == 1 and len(stack.sync_calls()) == 1


@pytest.mark.parametrize("scope", ["demo/team/app", "demo/team/other"])
def test_failed_job_is_resynced_then_verified(stack: Stack, scope: str) -> None:
    """In the monitor's scope the job-based re-sync does it (and counts for the intent); outside, the proof."""
    stack.state_emu.add_image("demo", "team/other", "v0")
    settings = stack.monitor_settings(MONITOR_RESYNC="true", MONITOR_REPOS=scope, MONITOR_SETTLE_SECONDS="0")
    with freeze_time(T0) as clock:
        stack.push()
        [job] = stack.state_emu.jobs()
        stack.state_emu.force_job_status(job["id"], "failed")
        clock.tick(timedelta(seconds=30))
        first = stack.run(settings)
        assert first["replication"]["resynced"] == 1 and first["replication"]["verified"] == 0
        assert first["resync"]["issued"] == (1 if scope == "demo/team/app" else 0)
        assert len(stack.sync_calls()) == 2  # the push, one re-sync (not one per mechanism)
        [intent] = stack.intents()
        assert intent.resyncs == 1 and intent.status == "pending"
        clock.tick(timedelta(seconds=30))
        second = stack.run(settings)
    assert second["replication"]["verified"] == 1 and second["replication"]["pending"] == 0
    assert len(stack.sync_calls()) == 2
    assert "intent_failed" not in kinds(first) + kinds(second)


def test_a_job_that_never_appears_is_missing_resynced_once_then_alerted_once(stack: Stack) -> None:
    # SWR accepts sync_images but no job ever appears (nor the tag)
    stack.state_emu.add_fault(r"/sync_images", "POST", status=200, body=[], times=None)
    with freeze_time(T0) as clock:
        stack.push()
        clock.tick(timedelta(seconds=60))
        early = stack.run()
        assert early["replication"]["pending"] == 1 and early["replication"]["missing"] == 0
        clock.tick(timedelta(seconds=900))
        first = stack.run()
        assert first["replication"]["resynced"] == 1 and kinds(first) == []
        clock.tick(timedelta(seconds=60))
        assert stack.run()["replication"]["resynced"] == 0  # VERIFY_AFTER counts again from the re-sync
        clock.tick(timedelta(seconds=900))
        second = stack.run()
        later = [stack.run() for _ in range(3)]
    assert second["replication"]["missing"] == 1 and kinds(second) == ["intent_missing"]
    assert "no sync job within 900s" in second["alerts"][0]["title"] or second["replication"]["settled"]
    assert all(kinds(r) == [] for r in later)
    assert len(stack.sync_calls()) == 2  # the push and exactly one re-sync
    assert not second["healthy"]


def test_a_job_that_succeeds_without_the_tag_is_missing(stack: Stack) -> None:
    stack.state_emu.add_job_fault("no_tag", times=None)
    with freeze_time(T0) as clock:
        stack.push()
        clock.tick(timedelta(seconds=901))
        first = stack.run()
        clock.tick(timedelta(seconds=901))
        second = stack.run()
    assert first["replication"]["resynced"] == 1
    assert kinds(second) == ["intent_missing"]
    assert "job finished but no tag" in second["replication"]["settled"][0]["reason"]


def test_digest_mismatch_is_alerted_once(stack: Stack) -> None:
    stack.state_emu.add_job_fault("other_digest")
    with freeze_time(T0) as clock:
        stack.push()
        clock.tick(timedelta(seconds=30))
        first = stack.run()
        again = stack.run()
    assert first["replication"]["failed"] == 1 and kinds(first) == ["intent_mismatch"]
    assert "digest mismatch" in first["replication"]["settled"][0]["reason"]
    assert kinds(again) == []


def test_five_overlapping_runs_alert_once_and_announce_the_recovery_once(
    stack: Stack, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/alerts", method="POST").respond_with_data("ok")
    stack.state_emu.add_fault(r"/sync_images", "POST", status=200, body=[], times=2)  # push + the one re-sync
    settings = stack.monitor_settings(ALERT_WEBHOOK_URL=httpserver.url_for("/alerts"))
    with freeze_time(T0) as clock:
        stack.push()
        clock.tick(timedelta(seconds=901))
        stack.run(settings)  # missing: the one re-sync
        clock.tick(timedelta(seconds=901))
        reports = overlapping(stack, settings, 5)
        assert sorted(k for r in reports for k in kinds(r)) == ["intent_missing"]
        assert len(stack.sync_calls()) == 2
        # fixed: the tag is pushed again (a new digest) and this time arrives
        stack.state_emu.add_image("demo", "team/app", "v1", DIGEST2)
        stack.push(digest=DIGEST2)
        clock.tick(timedelta(seconds=30))
        recovered = overlapping(stack, settings, 5)
        assert sorted(k for r in recovered for k in kinds(r)) == ["intent_recovered"]
        assert sum(r["replication"]["verified"] for r in recovered) >= 1
        assert all(kinds(stack.run(settings)) == [] for _ in range(2))
    delivered = [json.loads(request.data)["title"] for request, _ in httpserver.log]
    assert delivered == [
        "[swr-sync] image never arrived: demo/team/app:v1 -> ap-southeast-1/demo",
        "[swr-sync] recovered: demo/team/app:v1 -> ap-southeast-1/demo",
    ]


def overlapping(stack: Stack, settings: Any, n: int) -> list[dict[str, Any]]:
    reports: list[dict[str, Any]] = []
    barrier = threading.Barrier(n)
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        report = stack.run(settings)
        with lock:
            reports.append(report)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reports) == n
    return reports


def test_five_overlapping_runs_on_a_failed_job_send_one_alert(stack: Stack) -> None:
    """The job-based alerts too: durable de-dup instead of the one-period window rule."""
    settings = stack.monitor_settings(MONITOR_MAX_RESYNC="0", MONITOR_SETTLE_SECONDS="0")
    with freeze_time(T0) as clock:
        stack.state_emu.add_job("demo", "team/app", "v1", DST, "demo", status="failed", created_at=T0)
        clock.tick(timedelta(seconds=5))
        reports = overlapping(stack, settings, 5)
        # a late run, long after the one-period window, neither repeats nor drops it
        clock.tick(timedelta(seconds=400))
        late = stack.run(settings)
        # fixed: a success for the key; its recovery is announced once by five overlapping runs
        stack.state_emu.add_job("demo", "team/app", "v1", DST, "demo", status="success")
        clock.tick(timedelta(seconds=5))
        recovered = overlapping(stack, settings, 5)
        after = stack.run(settings)
    assert sorted(k for r in reports for k in kinds(r)) == ["failed"]
    assert kinds(late) == []
    assert sorted(k for r in recovered for k in kinds(r)) == ["recovered"]
    assert kinds(after) == []
    assert after["state"]["flaps_7d"] == {"demo/team/app:v1 -> ap-southeast-1/demo": 1}


def test_run_reports_are_kept_bounded_newest_first(stack: Stack) -> None:
    from functions.job_monitor.durable import recent_reports

    settings = stack.monitor_settings(MONITOR_REPORTS_KEPT="2")
    with freeze_time(T0) as clock:
        for _ in range(3):
            stack.run(settings)
            clock.tick(timedelta(seconds=60))
    kept = recent_reports(stack.store, 10)
    assert [r.at for r in kept] == [T0 + timedelta(seconds=120), T0 + timedelta(seconds=60)]
    assert kept[0].report["replication"]["checked"] == 0 and "keys_by_status" in kept[0].report


def test_a_dry_run_reports_what_it_would_do_and_changes_nothing(stack: Stack) -> None:
    stack.state_emu.add_fault(r"/sync_images", "POST", status=200, body=[], times=1)
    dry = stack.monitor_settings(MONITOR_DRY_RUN="true")
    with freeze_time(T0) as clock:
        stack.push()
        clock.tick(timedelta(seconds=901))
        report = stack.run(dry)
        assert [s["status"] for s in report["replication"]["settled"]] == ["would_resync"]
        assert len(stack.sync_calls()) == 1 and stack.intents()[0].resyncs == 0
        real = stack.run()
    assert real["replication"]["resynced"] == 1  # the dry run took no marker


def test_five_overlapping_runs_resync_a_failed_intent_once(stack: Stack) -> None:
    settings = stack.monitor_settings(MONITOR_SETTLE_SECONDS="0")
    with freeze_time(T0) as clock:
        stack.push()
        [job] = stack.state_emu.jobs()
        stack.state_emu.force_job_status(job["id"], "failed")
        clock.tick(timedelta(seconds=30))
        reports = overlapping(stack, settings, 5)
        assert len(stack.sync_calls()) == 2  # the push and one re-sync, whatever the overlap
        assert all(kinds(r) == [] for r in reports)
        [intent] = stack.intents()
        assert intent.status == "pending" and intent.resyncs == 1
        clock.tick(timedelta(seconds=30))
        assert stack.run(settings)["replication"]["verified"] == 1


def test_unreadable_evidence_leaves_the_intent_open(stack: Stack) -> None:
    """A tag listing or job listing that fails decides nothing: no false 'missing', no re-sync, no alert."""
    stack.state_emu.add_image("demo", "team/other", "v0")
    settings = stack.monitor_settings(MONITOR_REPOS="demo/team/other")  # team/app's jobs: read by the proof
    stack.state_emu.add_fault(r"/sync_images", "POST", status=200, body=[], times=1)  # no job, no tag
    with freeze_time(T0) as clock:
        stack.push()
        clock.tick(timedelta(seconds=901))
        stack.state_emu.add_fault(r"team%24app/sync_job", "GET", status=500, times=None)
        jobs_down = stack.run(settings)
        stack.state_emu.clear_faults()
        stack.state_emu.add_fault(r"/tags", "GET", status=503, times=None)
        tags_down = stack.run(settings)
        stack.state_emu.clear_faults()
        healthy = stack.run(settings)
    for report in (jobs_down, tags_down):
        proof = report["replication"]
        assert (proof["missing"], proof["resynced"], proof["pending"]) == (0, 0, 1), proof
        assert proof["problems"] and kinds(report) == []
    assert healthy["replication"]["resynced"] == 1  # now it can tell: missing, re-synced


def test_the_intent_keeps_swrs_answer_verbatim(stack: Stack) -> None:
    """SWR answered 200 with ['ghost'] (a tag it does not have): a 200 means triggered, so both tags get an
    intent keeping that list verbatim; whether each arrived is for the target region to prove (ghost never
    will: the monitor settles it missing), never read from the list."""
    response = stack.caller(
        {"namespace": "demo", "repository": "team/app", "tags": ["v1", "ghost"], "digest": DIGEST}
    )
    assert response.status == 200
    intents = sorted(stack.intents(), key=lambda i: i.tag)
    assert [(i.tag, i.swr_answer) for i in intents] == [("ghost", ["ghost"]), ("v1", ["ghost"])]


def test_a_skipped_run_drops_no_alert_with_redis(stack: Stack) -> None:
    """The first run after the failure comes late (the runs before it were skipped). With Redis the key is
    still alerted, once; with memory (a cold instance cannot tell) the time-window rule stands."""
    settings = stack.monitor_settings(MONITOR_MAX_RESYNC="0", MONITOR_SETTLE_SECONDS="0")
    with freeze_time(T0) as clock:
        stack.state_emu.add_job("demo", "team/app", "v1", DST, "demo", status="failed", created_at=T0)
        clock.tick(timedelta(seconds=420))  # more than one period (300 s) late, still within the look-back
        late = stack.run(settings)
        again = stack.run(settings)
    assert kinds(late) == (["failed"] if stack.redis else [])
    assert kinds(again) == []


def test_every_key_is_namespaced_versioned_and_expires(emulator: Any, redis_url: str) -> None:
    """After pushes, proofs, re-syncs, alerts and kept reports: no Redis key without a TTL."""
    import re

    import redis

    stack = Stack(emulator, redis_url)
    stack.state_emu.add_job_fault("no_tag")
    settings = stack.monitor_settings(MONITOR_SETTLE_SECONDS="0", MONITOR_MAX_RESYNC="0")
    with freeze_time(T0) as clock:
        stack.push()
        stack.caller({"namespace": "demo", "repository": "team/ghost", "tags": ["v1"], "digest": DIGEST})
        for _ in range(4):
            clock.tick(timedelta(seconds=901))
            failed_at = datetime.now(timezone.utc) - timedelta(seconds=10)
            stack.state_emu.add_job(
                "demo", "team/app", "v7", DST, "demo", status="failed", created_at=failed_at
            )
            stack.run(settings)
    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in client.scan_iter("*")]
    kinds_seen = {k.split(":")[1] for k in keys}
    assert {"intent", "push-result", "run-report", "job-alert", "intent-alert", "intent-resync"} <= kinds_seen
    for key in keys:
        assert re.fullmatch(r"swr-sync:[a-z-]+:v\d+:.+", key), key
        assert client.pttl(key) > 0, key
    client.close()


def test_the_proof_leaves_the_alerts_their_time(stack: Stack) -> None:
    """Near the function's deadline no tag listing starts: the intents wait, open, for the next run."""
    with freeze_time(T0) as clock:
        stack.push()
        clock.tick(timedelta(seconds=30))
        report = stack.run(remaining_ms=10_000)  # less than 2 alert timeouts + 1 HTTP timeout + 1 s
    proof = report["replication"]
    assert proof["tag_listings"] == 0 and proof["pending"] == 1
    assert proof["problems"][0]["what"] == "deadline"
