"""job-monitor against the emulator: classification, flapping, stuck, re-sync budget, systemic failures,
paging, early stop, deadline, lag, scope discovery. Time is frozen; history is seeded through the state API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from pytest_httpserver import HTTPServer

from shared.swr.http import Deadline
from tests.job_monitor.conftest import DST, DST2, T0, Harness


def keys(entries: list[dict[str, Any]]) -> set[str]:
    return {e["tag"] for e in entries}


def hook_env(httpserver: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {"ALERT_WEBHOOK_URL": httpserver.url_for("/hook"), "ALERT_FORMAT": "generic", **extra}


def received(httpserver: HTTPServer) -> list[dict[str, Any]]:
    return [req.get_json() for req, _resp in httpserver.log]


def test_every_status_is_classified(harness: Harness) -> None:
    with freeze_time(T0):
        for status in ("waiting", "running", "success", "failed", "timeout", "cancel", "existed"):
            harness.job(f"t-{status}", status, age=120)
        report = harness.run(harness.settings(MONITOR_RESYNC="false"))
    assert report["jobs_by_status"] == {
        "waiting": 1,
        "running": 1,
        "success": 1,
        "failed": 1,
        "timeout": 1,
        "cancel": 1,
        "existed": 1,
    }
    assert report["keys_by_status"] == {"ok": 2, "failed": 3, "stuck": 0, "pending": 2}
    assert keys(report["failed"]) == {"t-failed", "t-timeout", "t-cancel"}
    assert {e["status"] for e in report["failed"]} == {"failed", "timeout", "cancel"}
    assert all(e["job_id"] and e["reason"] for e in report["failed"])
    assert report["stuck"] == []
    assert report["healthy"] is False and report["status"] == "unhealthy"
    assert report["coverage_complete"] is True and report["not_scanned"] == []
    assert report["repositories_scanned"] == 1
    assert report["api_calls"]["requests"] == 1


def test_healthy_when_only_success_and_existed(harness: Harness) -> None:
    with freeze_time(T0):
        harness.job("v1", "success", age=60)
        harness.job("v2", "existed", age=60)
        report = harness.run()
    assert report["healthy"] is True and report["status"] == "healthy"
    assert report["failed_total"] == 0 and report["alerts"] == []


def test_flapping_failure_superseded_by_success_is_ok_and_not_alerted(
    harness: Harness, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    with freeze_time(T0):
        harness.job("v1", "failed", age=400)
        harness.job("v1", "success", age=350)
        report = harness.run(harness.settings(MONITOR_SETTLE_SECONDS=0, **hook_env(httpserver)))
    assert report["healthy"] is True
    assert report["keys_by_status"]["ok"] == 1 and report["failed"] == []
    assert keys(report["recovered"]) == {"v1"}
    assert report["resync"]["issued"] == 0 and report["alerts"] == []
    assert httpserver.log == []
    assert harness.requests("sync_images") == []


def test_failure_is_alerted_once_after_settle_then_never_again(
    harness: Harness, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    settings = harness.settings(MONITOR_RESYNC="false", **hook_env(httpserver))
    with freeze_time(T0) as clock:
        harness.job("v1", "failed", age=10)  # updatedAt = created + 3 s → due at T0 - 7 s + 300 s
        first = harness.run(settings)
        assert first["failed_total"] == 1 and first["alerts"] == []  # still settling
        clock.tick(timedelta(seconds=300))
        second = harness.run(settings)
        assert second["alerts_sent"] == 1
        assert second["failed"][0]["alerted"] is True
        clock.tick(timedelta(seconds=300))
        third = harness.run(settings)
        assert third["failed_total"] == 1 and third["alerts"] == []  # same failure: no repeat
    bodies = received(httpserver)
    assert len(bodies) == 1
    assert bodies[0]["kind"] == "failed" and bodies[0]["keys"][0]["tag"] == "v1"


def test_stuck_jobs(harness: Harness, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    with freeze_time(T0):
        harness.job("new-stuck", "running", age=1900)  # crossed 1800 s during the last period → alert
        harness.job("old-stuck", "waiting", age=2150)  # crossed it a period ago: reported, not alerted again
        harness.job("slow", "running", age=1000)  # older than the look-back, not stuck yet: pending
        report = harness.run(harness.settings(**hook_env(httpserver)))
    assert keys(report["stuck"]) == {"new-stuck", "old-stuck"}
    assert report["keys_by_status"]["pending"] == 1
    assert report["healthy"] is False
    bodies = received(httpserver)
    assert [b["kind"] for b in bodies] == ["stuck"]
    assert bodies[0]["keys"][0]["tag"] == "new-stuck"
    assert "stuck" in bodies[0]["title"]
    assert harness.requests("sync_images") == []  # stuck keys are not re-synced


def test_resync_budget_then_alert(harness: Harness, httpserver: HTTPServer) -> None:
    """A failing key is re-synced (same override) until MONITOR_MAX_RESYNC attempts are used, then alerted once."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    settings = harness.settings(**hook_env(httpserver))
    with freeze_time(T0) as clock:
        harness.state.add_image("team", "app", "v1")  # target namespace missing in DST: every sync fails
        harness.job("v1", "failed", age=60, override=True)
        runs = []
        for _ in range(5):
            runs.append(harness.run(settings))
            clock.tick(timedelta(seconds=300))
    issued = [r["resync"]["issued"] for r in runs]
    assert issued == [1, 1, 0, 0, 0]
    posts = harness.requests("sync_images", "POST")
    assert len(posts) == 2
    assert posts[0]["body"] == {
        "imageTag": ["v1"],
        "override": True,
        "remoteNamespace": "team",
        "remoteRegionId": DST,
    }
    assert runs[0]["failed"][0]["resync"] == "issued"
    assert runs[2]["failed"][0]["resync"] == "budget_exhausted"
    assert runs[2]["failed"][0]["attempts"] == 2
    assert [r["alerts_sent"] for r in runs] == [0, 0, 0, 1, 0]  # settle after the last failure, then once
    [body] = received(httpserver)
    assert body["keys"][0]["tag"] == "v1"
    assert "budget exhausted (2 of 2 attempts used)" in body["text"]


def test_resync_that_succeeds_clears_the_key(harness: Harness, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    settings = harness.settings(**hook_env(httpserver))
    with freeze_time(T0) as clock:
        harness.state.add_image("team", "app", "v1")
        harness.state.add_image("team", "app", "v2")
        harness.state.add_namespace("team", region=DST)
        harness.job("v1", "failed", age=60)
        harness.job("v2", "timeout", age=50)
        first = harness.run(settings)
        clock.tick(timedelta(seconds=300))
        second = harness.run(settings)
    assert first["resync"]["issued"] == 2
    [group] = first["resync"]["groups"]  # grouped like push-sync: one call for both tags
    assert sorted(group["tags"]) == ["v1", "v2"] and group["outcome"] == "triggered"
    assert len(harness.requests("sync_images", "POST")) == 1
    assert second["healthy"] is True
    assert keys(second["recovered"]) == {"v1", "v2"}
    assert second["lag"][DST]["count"] == 2
    assert httpserver.log == []
    assert harness.state.tags("team", "app", region=DST).keys() == {"v1", "v2"}


def test_resync_disabled_and_dry_run(harness: Harness) -> None:
    with freeze_time(T0):
        harness.state.add_image("team", "app", "v1")
        harness.job("v1", "failed", age=60)
        disabled = harness.run(harness.settings(MONITOR_RESYNC="false"))
        dry = harness.run(overrides={"dry_run": True})
    assert disabled["failed"][0]["resync"] == "disabled" and disabled["resync"]["enabled"] is False
    assert dry["dry_run"] is True and dry["failed"][0]["resync"] == "dry_run"
    assert dry["resync"]["groups"][0]["outcome"] == "dry_run"
    assert harness.requests("sync_images") == []


def test_resync_answer_list_is_kept_verbatim_not_read_as_failed(harness: Harness) -> None:
    # Was "rejected" (alerted at once): SWR's 200 list was read as the failed tags. The seed pages disagree on
    # what it holds, so a 200 is "triggered", the list is kept as SWR sent it, and the key is remediating.
    with freeze_time(T0):
        harness.job("gone", "failed", age=400)  # the emulator lists a tag whose source is gone
        report = harness.run()
    assert report["failed"][0]["resync"] == "issued"
    (group,) = report["resync"]["groups"]
    assert group["outcome"] == "triggered" and group["swr_list"] == ["gone"]
    assert report["alerts_sent"] == 0


def test_systemic_target_region_gives_one_summary_alert(harness: Harness, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    with freeze_time(T0):
        for i in range(6):
            harness.job(f"v{i}", "failed", age=100, region=DST2)
        harness.job("ok1", "success", age=100, region=DST)
        harness.job("bad", "failed", age=100, region=DST)
        report = harness.run(
            harness.settings(MONITOR_RESYNC="false", MONITOR_SETTLE_SECONDS=0, **hook_env(httpserver))
        )
    assert report["failed_total"] == 7
    assert report["systemic"] == [
        {"kind": "target_region", "target_region": DST2, "target_namespace": None, "failing_keys": 6}
    ]
    bodies = received(httpserver)
    assert sorted(b["kind"] for b in bodies) == ["failed", "systemic"]  # 7 failures → 2 alerts, not 7
    summary = next(b for b in bodies if b["kind"] == "systemic")
    assert summary["cause"] == "target_region" and len(summary["keys"]) == 6
    assert DST2 in summary["title"]


def test_systemic_target_namespace(harness: Harness) -> None:
    with freeze_time(T0):
        for i in range(5):
            harness.job(f"v{i}", "cancel", age=100, target_ns="missing")
        harness.job("fine", "success", age=100, target_ns="team")
        report = harness.run(harness.settings(MONITOR_RESYNC="false", MONITOR_SETTLE_SECONDS=0))
    assert [g["kind"] for g in report["systemic"]] == ["target_namespace"]
    assert [a["kind"] for a in report["alerts"]] == ["systemic"]
    assert report["alerts_total"] == 1 and report["alerting_configured"] is False


def test_swr_401_for_everything_is_503_and_one_summary(harness: Harness, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    harness.state.add_fault(r"/sync_job", status=401, body={"error_code": "APIGW.0301"}, times=None)
    settings = harness.settings(MONITOR_REPOS="team/a,team/b,team/c", **hook_env(httpserver))
    with freeze_time(T0):
        for repo in ("team/a", "team/b", "team/c"):
            harness.state.add_repository(*repo.split("/"))
        report = harness.run(settings)
        again = harness.run(settings)
    assert report["status"] == "swr_unavailable" and report["healthy"] is False
    assert report["swr_problem"] == {"cause": "swr_auth", "repositories": 3, "total": 3}
    assert {g["reason"] for g in report["not_scanned"]} == {"auth"}
    assert report["coverage_complete"] is False
    assert [a["cause"] for a in report["alerts"]] == ["swr_auth"]
    assert again["alerts"] == []  # warm instance: not repeated within ALERT_REPEAT_SECONDS
    assert len(received(httpserver)) == 1


def test_pagination_follows_content_range_across_pages(harness: Harness) -> None:
    with freeze_time(T0):
        for i in range(30):
            harness.job(f"old{i}", "failed", age=90_000)
        for i in range(120):
            harness.job(f"v{i}", "success", age=800 - i)
        report = harness.run(harness.settings(MONITOR_PAGE_SIZE=50))
    assert report["keys_by_status"]["ok"] == 120 and report["failed_total"] == 0
    filters = [r["path"].split("filter=")[1] for r in harness.requests("sync_job")]
    assert filters == [
        "limit%3A%3A50%7Coffset%3A%3A0%7Corder%3A%3Adesc",
        "limit%3A%3A50%7Coffset%3A%3A50%7Corder%3A%3Adesc",
        "limit%3A%3A50%7Coffset%3A%3A100%7Corder%3A%3Adesc",
    ]
    assert report["api_calls"]["requests"] == 3


def test_page_boundary_exactly_at_the_end(harness: Harness) -> None:
    with freeze_time(T0):
        for i in range(100):
            harness.job(f"v{i}", "existed", age=500)
        report = harness.run(harness.settings(MONITOR_PAGE_SIZE=50))
    assert report["jobs_by_status"]["existed"] == 100
    assert len(harness.requests("sync_job")) == 2  # Content-Range 50-50/100 says there is no third page


def test_ten_thousand_old_jobs_cost_one_request(harness: Harness) -> None:
    with freeze_time(T0):
        for i in range(10_000):
            harness.job(f"t{i % 500}", "success" if i % 3 else "failed", age=86_400 * 3 - i)
        report = harness.run()
    assert len(harness.requests("sync_job")) == 1
    assert report["api_calls"]["requests"] == 1
    assert report["keys_total"] == 0 and report["healthy"] is True


def test_page_limit_marks_partial_history_and_blocks_resync(harness: Harness) -> None:
    with freeze_time(T0):
        harness.state.add_image("team", "app", "v1")
        harness.job("v1", "failed", age=300)
        for i in range(20):
            harness.job(f"x{i}", "success", age=200)
        report = harness.run(harness.settings(MONITOR_PAGE_SIZE=5, MONITOR_MAX_PAGES=2))
    assert report["coverage_complete"] is False
    assert report["not_scanned"] == [
        {
            "repository": "team/app",
            "reason": "page_limit",
            "detail": "history cut short after 2 page(s)",
            "partial": True,
        }
    ]
    assert harness.requests("sync_images") == []


def test_deadline_gives_partial_coverage(harness: Harness) -> None:
    repos = [f"team/r{i}" for i in range(6)]
    with freeze_time(T0):
        for repo in repos:
            harness.job("v1", "success", age=60, repo=repo)
        # A clock that advances one second per SWR request: three requests use up the scan's budget.
        deadline = Deadline(2.5, clock=lambda: float(len(harness.requests("sync_job"))))
        report = harness.run(
            harness.settings(MONITOR_REPOS=",".join(repos), MONITOR_CONCURRENCY=1), scan_deadline=deadline
        )
    assert report["repositories_in_scope"] == 6
    assert report["repositories_scanned"] == 3
    assert report["coverage_complete"] is False
    assert [g["repository"] for g in report["not_scanned"]] == repos[3:]
    assert {g["reason"] for g in report["not_scanned"]} == {"deadline"}
    assert report["status"] == "unhealthy"


def test_function_timeout_stops_scan_early(harness: Harness) -> None:
    repos = [f"team/r{i}" for i in range(4)]
    for repo in repos:
        harness.state.add_repository(*repo.split("/"))
    harness.state.add_fault(r"/sync_job", method="GET", delay=0.1, times=None)
    settings = harness.settings(MONITOR_REPOS=",".join(repos), MONITOR_CONCURRENCY=1, DEADLINE_MARGIN_MS=0)
    report = harness.run(settings, remaining_ms=300)  # 0.3 s left, 40 % kept for the rest: 0.18 s to scan
    assert 1 <= report["repositories_scanned"] < 4
    assert report["coverage_complete"] is False
    assert {g["reason"] for g in report["not_scanned"]} <= {"deadline"}


def test_lag_percentiles_per_target_region(harness: Harness) -> None:
    with freeze_time(T0) as clock:
        ids = []
        for i, lag in enumerate([10, 20, 30, 40, 100]):
            ids.append((harness.job(f"a{i}", "running", age=600), lag, DST))
        ids.append((harness.job("b0", "running", age=600, region=DST2), 5, DST2))
        for job_id, lag, _region in sorted(ids, key=lambda x: x[1]):
            clock.move_to(T0 - timedelta(seconds=600 - lag))
            harness.state.force_job_status(job_id, "success")
        clock.move_to(T0)
        report = harness.run()
    assert report["lag"] == {
        DST: {"count": 5, "p50_seconds": 30.0, "p95_seconds": 100.0, "max_seconds": 100.0},
        DST2: {"count": 1, "p50_seconds": 5.0, "p95_seconds": 5.0, "max_seconds": 5.0},
    }


def test_scope_discovers_namespaces_and_expands_globs(harness: Harness) -> None:
    with freeze_time(T0):
        for name in ("api", "web", "tools/cli"):
            harness.job("v1", "failed", age=100, repo=f"team/{name}")
        harness.job("v1", "failed", age=100, repo="other/svc")
        harness.job("v1", "failed", age=100, repo="teamx/svc")
        by_ns = harness.run(
            harness.settings(MONITOR_REPOS="", MONITOR_NAMESPACES="team", MONITOR_RESYNC="false")
        )
        by_glob = harness.run(
            harness.settings(MONITOR_REPOS="team/{api,web},te*/svc", MONITOR_RESYNC="false")
        )
        override = harness.run(overrides={"repos": ["other/svc"], "resync": False})
    assert {e["repository"] for e in by_ns["failed"]} == {"api", "web", "tools/cli"}
    assert {(e["namespace"], e["repository"]) for e in by_glob["failed"]} == {
        ("team", "api"),
        ("team", "web"),
        ("teamx", "svc"),
    }
    assert {e["repository"] for e in override["failed"]} == {"svc"}
    assert by_ns["coverage_complete"] and by_glob["coverage_complete"] and override["coverage_complete"]


def test_repo_listing_pages_through_many_repositories(harness: Harness) -> None:
    with freeze_time(T0):
        for i in range(101):  # one more than a listing page
            harness.state.add_repository("big", f"r{i:03d}")
        report = harness.run(harness.settings(MONITOR_REPOS="", MONITOR_NAMESPACES="big"))
    assert report["repositories_in_scope"] == 101 and report["repositories_scanned"] == 101
    assert len(harness.requests("/v2/manage/repos")) == 2


def test_missing_repository_is_reported_not_scanned(harness: Harness) -> None:
    with freeze_time(T0):
        harness.job("v1", "success", age=60)
        report = harness.run(harness.settings(MONITOR_REPOS="team/app,team/nope"))
    assert report["repositories_scanned"] == 1
    assert [(g["repository"], g["reason"]) for g in report["not_scanned"]] == [("team/nope", "not_found")]
    assert report["healthy"] is False and report["status"] == "unhealthy"


@pytest.mark.parametrize("count", [1, 12])
def test_alert_flood_is_capped_with_a_digest(harness: Harness, count: int) -> None:
    with freeze_time(T0):
        for i in range(count):
            harness.job(f"v{i}", "failed", age=100, region=DST if i % 2 else DST2)
        harness.job("ok-a", "success", age=100, region=DST)
        harness.job("ok-b", "success", age=100, region=DST2)
        report = harness.run(
            harness.settings(MONITOR_RESYNC="false", MONITOR_SETTLE_SECONDS=0, ALERT_MAX_MESSAGES=5)
        )
    kinds = [a["kind"] for a in report["alerts"]]
    if count == 1:
        assert kinds == ["failed"]
    else:
        assert kinds == ["failed"] * 4 + ["digest"]
        assert report["alerts"][-1]["keys"] == 8


def test_long_job_that_failed_just_now_is_recent(harness: Harness) -> None:
    with freeze_time(T0 - timedelta(seconds=100)):
        harness.state.add_image("team", "app", "v1")
        job_id = harness.job("v1", "running", age=1900)  # created 2000 s before T0, before the look-back
        harness.state.force_job_status(job_id, "timeout")  # ...and timed out 100 s before T0
    with freeze_time(T0):
        report = harness.run()
    [entry] = report["failed"]
    assert entry["status"] == "timeout" and entry["resync"] == "issued"


def test_sync_images_refused_for_many_groups_is_one_systemic_alert(harness: Harness) -> None:
    harness.state.add_fault(r"/sync_images", method="POST", status=403, times=None)
    repos = [f"team/r{i}" for i in range(5)]
    with freeze_time(T0):
        for repo in repos:
            namespace, name = repo.split("/")
            harness.state.add_image(namespace, name, "v1")
            harness.job("v1", "failed", age=60, repo=repo)
        report = harness.run(harness.settings(MONITOR_REPOS=",".join(repos)))
    assert report["swr_problem"] == {"cause": "swr_auth", "repositories": 0, "total": 5, "resync_refused": 5}
    assert {e["resync"] for e in report["failed"]} == {"error"}
    assert [(a["kind"], a["cause"]) for a in report["alerts"]] == [("systemic", "swr_auth")]
    assert report["alerts_logged_only"] == 1
    assert report["status"] == "unhealthy"  # the jobs were read: not a 503


def test_listing_failures_are_gaps(harness: Harness) -> None:
    harness.state.add_fault(r"/v2/manage/repos\?", status=403, times=None)
    harness.state.add_fault(r"/v2/manage/namespaces$", status=500, times=None)
    with freeze_time(T0):
        harness.job("v1", "success", age=60)
        report = harness.run(harness.settings(MONITOR_REPOS="team/app,x*/y", MONITOR_NAMESPACES="team"))
    assert report["repositories_scanned"] == 1
    assert sorted((g["repository"], g["reason"]) for g in report["not_scanned"]) == [
        ("team/*", "auth"),
        ("x*/y", "unreachable"),
    ]
    assert report["coverage_complete"] is False and report["status"] == "unhealthy"
