"""Every paged loop is bounded by count and by progress, against real loopback servers of the hostile kit:

- a server that ignores ``offset`` (the same page again) stops the listing at the second page, reported as an
  incomplete scan (``no_progress``), never a loop until the page limit, never a silently short list;
- a listing that never ends stops at its page limit, or at the scan's shared page budget, reported
  ``page_limit``;
- a page with 200,000 items where 50 were asked is cut at 50 without decoding the rest.
"""

from __future__ import annotations

import time
import tracemalloc
from datetime import datetime, timezone

import pytest

from functions.job_monitor.reader import read_repo, scan
from functions.job_monitor.run import build_sinks, run_monitor
from functions.job_monitor.scope import RepoRef, resolve
from functions.job_monitor.settings import MonitorSettings
from functions.job_monitor.trigger import Overrides, options
from shared.logs import logs
from shared.runtime.connect import connect
from shared.swr.auth import TokenAuth
from shared.swr.client import SwrClient
from shared.swr.errors import TransportError
from shared.swr.http import Deadline, RetryPolicy
from shared.swr.paging import ListingIncomplete, PageBudget
from tests.hostile import HostileServer, hostile_http

TOKEN = "loop-bounds-token-0123456789abcdef"
HORIZON = datetime(2000, 1, 1, tzinfo=timezone.utc)


def _client(server: HostileServer) -> SwrClient:
    return SwrClient(server.url, TokenAuth(TOKEN), policy=RetryPolicy(max_attempts=1), deadline=Deadline(10))


def _requests(server: HostileServer) -> int:
    return len(server.requests)


def test_repo_listing_that_ignores_offset_stops_at_the_second_page() -> None:
    with hostile_http("offset_ignoring") as server:
        with pytest.raises(ListingIncomplete) as info:
            list(_client(server).iter_repos("demo", page_size=50))
        assert _requests(server) == 2
    assert info.value.reason == "no_progress"
    assert "repeats earlier repositories" in str(info.value)


def test_job_listing_that_ignores_offset_stops_at_the_second_page() -> None:
    with hostile_http("offset_ignoring") as server:
        with pytest.raises(ListingIncomplete) as info:
            list(_client(server).iter_sync_jobs("demo", "app", page_size=50))
        assert _requests(server) == 2
    assert info.value.reason == "no_progress"


def test_monitor_reader_stops_on_no_progress_and_keeps_what_it_read() -> None:
    with hostile_http("offset_ignoring") as server:
        out = read_repo(_client(server), RepoRef("demo", "app"), HORIZON, 50, 200, Deadline(10))
        assert _requests(server) == 2
    assert out.stop == "no_progress" and not out.complete
    assert len(out.jobs) == 50  # the first page's jobs, each once
    assert "ignores offset" in out.detail


def test_endless_listing_stops_at_its_page_limit() -> None:
    with hostile_http("endless_pages") as server:
        with pytest.raises(ListingIncomplete) as info:
            list(_client(server).iter_repos("demo", page_size=50, max_pages=7))
        assert _requests(server) == 7
    assert info.value.reason == "page_limit"


def test_scan_budget_counts_pages_across_repositories() -> None:
    repos = [RepoRef("demo", f"app{i}") for i in range(6)]
    budget = PageBudget(10)
    with hostile_http("endless_pages") as server:
        result = scan(_client(server), repos, HORIZON, 50, 1_000, 3, Deadline(20), budget)
        assert _requests(server) == 10
    assert budget.used == 10
    assert not result.read or all(not r.complete for r in result.read)
    assert {g.reason for g in result.gaps} == {"page_limit"}
    assert {g.target for g in result.gaps} == {r.full for r in repos}


def test_namespace_listing_that_ignores_offset_is_a_gap() -> None:
    with hostile_http("offset_ignoring") as server:
        found, gaps = resolve(_client(server), [], ["demo"], 2, Deadline(10))
    assert found == []
    assert [(g.target, g.reason) for g in gaps] == [("demo/*", "no_progress")]


def test_a_monitor_run_reports_the_offset_ignoring_server_as_incomplete_coverage() -> None:
    with hostile_http("offset_ignoring") as server:
        settings = MonitorSettings.model_validate(
            {
                "SWR_ENDPOINT": server.url,
                "SWR_AUTH_TOKEN": TOKEN,
                "HTTP_MAX_ATTEMPTS": "1",
                "MONITOR_REPOS": "demo/app",
                "MONITOR_NAMESPACES": "other",
                "MONITOR_RESYNC": "false",
            }
        )
        client = connect(settings, 20_000)
        opts = options(settings, Overrides(), "test", [])
        now = datetime.now(timezone.utc)
        report = run_monitor(
            settings, client, opts, now, build_sinks(settings), {}, logs.get_logger()
        ).to_dict()
    assert report["coverage_complete"] is False and report["healthy"] is False
    reasons = {g["repository"]: g["reason"] for g in report["not_scanned"]}
    assert reasons["demo/app"] == "no_progress"
    assert reasons["other/*"] == "no_progress"


def test_a_page_with_far_more_items_than_asked_is_cut_without_decoding_the_rest() -> None:
    with hostile_http("limit_ignoring") as server:
        client = _client(server)
        tracemalloc.start()
        try:
            started = time.monotonic()
            page = client.list_sync_jobs("demo", "app", 50)
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert len(page.items) == 50 and page.cut and page.has_more
    assert [j.id for j in page.items] == list(range(50))
    # The body is about 12 MB; decoding its 200,000 items would take hundreds of MB and seconds.
    assert peak < 80 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"
    assert elapsed < 5


def test_an_unpaged_list_beyond_the_item_limit_is_refused_not_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shared.swr.client

    monkeypatch.setattr(shared.swr.client, "MAX_LIST_ITEMS", 1_000)
    with (
        hostile_http("limit_ignoring") as server,
        pytest.raises(TransportError, match="more than 1000 items"),
    ):
        _client(server).list_tags("demo", "app")


def test_policy_export_refuses_a_namespace_whose_listing_repeats_itself() -> None:
    from functions.policy_export.scope import ScopeError, _list

    with hostile_http("offset_ignoring") as server, pytest.raises(ScopeError) as info:
        _list(_client(server), "demo", 50)
    assert info.value.status == 502
    assert "repeats earlier repositories" in str(info.value)
