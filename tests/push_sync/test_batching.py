"""shared.sync.batching: grouping and bounded-concurrency execution."""

from __future__ import annotations

import threading
import time

import pytest
import structlog

from shared.rules import Target
from shared.swr.errors import ApiError, TransportError
from shared.sync.batching import GroupOutcome, SyncGroup, SyncItem, group_syncs, run_groups, sync_call

A = ("demo", "team/app")


def item(
    tag: str,
    region: str = "ap-southeast-1",
    ns: str = "demo",
    override: bool = False,
    repo: tuple[str, str] = A,
) -> SyncItem:
    return SyncItem(repo[0], repo[1], tag, region, ns, override)


def test_group_syncs_groups_dedupes_and_keeps_order() -> None:
    items = [
        item("v2"),
        item("v1", region="ap-southeast-3"),
        item("v1"),
        item("v2"),  # duplicate
        item("v3", override=True),  # override is part of the key
        item("v9", repo=("demo", "team/api")),
        ("demo", "team/app", "v4", "ap-southeast-1", "demo", False),  # plain tuples work too
    ]
    groups = group_syncs(items)
    assert [(g.repository, g.region, g.override, g.tags) for g in groups] == [
        ("team/app", "ap-southeast-1", False, ("v2", "v1", "v4")),
        ("team/app", "ap-southeast-3", False, ("v1",)),
        ("team/app", "ap-southeast-1", True, ("v3",)),
        ("team/api", "ap-southeast-1", False, ("v9",)),
    ]


def test_group_syncs_max_tags_splits() -> None:
    groups = group_syncs([item(f"v{i}") for i in range(5)], max_tags=2)
    assert [g.tags for g in groups] == [("v0", "v1"), ("v2", "v3"), ("v4",)]
    with pytest.raises(ValueError):
        group_syncs([], max_tags=0)
    assert group_syncs([]) == []


def test_sync_item_for_target_and_request_wire() -> None:
    it = SyncItem.for_target("demo", "team/app", "v1", Target("ap-southeast-3", "backup", True))
    (group,) = group_syncs([it])
    assert group.request().wire() == {
        "imageTag": ["v1"],
        "override": True,
        "remoteNamespace": "backup",
        "remoteRegionId": "ap-southeast-3",
    }
    assert group.to_dict()["tags"] == ["v1"]


def test_run_groups_bounded_concurrency_and_order() -> None:
    groups = [SyncGroup("demo", f"r{i}", "ap-southeast-1", "demo", False, ("v1",)) for i in range(12)]
    active = 0
    peak = 0
    lock = threading.Lock()

    def call(group: SyncGroup) -> list[str]:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1
        return []

    outcomes = run_groups(groups, call, concurrency=3)
    assert [o.group for o in outcomes] == groups
    assert all(o.triggered for o in outcomes)
    assert 1 < peak <= 3


def test_run_groups_keeps_swr_list_verbatim_and_reports_exceptions() -> None:
    groups = [
        SyncGroup("demo", "a", "ap-southeast-1", "demo", False, ("v1", "v2")),
        SyncGroup("demo", "b", "ap-southeast-1", "demo", False, ("v1",)),
        SyncGroup("demo", "c", "ap-southeast-1", "demo", False, ("v1",)),
        SyncGroup("demo", "d", "ap-southeast-1", "demo", False, ("v1",)),
    ]
    errors = {
        "b": TransportError("boom"),
        "c": ApiError(404, "SVCSTG.SWR.4040010", "not found"),
        "d": ApiError(503, "", "busy", retryable=True),
    }

    def call(group: SyncGroup) -> list[str]:
        if group.repository in errors:
            raise errors[group.repository]
        return ["v2", "v2"]

    a, b, c, d = run_groups(groups, call, concurrency=4)
    # A 200 triggered the sync; SWR's list is kept as sent (repeats too) and read as neither synced nor failed.
    # (It used to be read as the failed tags: a 503 "failed" for v2.)
    assert (a.triggered, a.swr_list, a.retryable) == (True, ("v2", "v2"), False)
    assert b.error is errors["b"] and b.retryable and not b.triggered
    assert c.error is errors["c"] and not c.retryable
    assert d.retryable


def test_run_groups_inline_for_one_group_and_empty() -> None:
    seen: list[str] = []
    group = SyncGroup("demo", "a", "ap-southeast-1", "demo", False, ("v1",))

    def call(g: SyncGroup) -> None:
        seen.append(threading.current_thread().name)

    outcomes = run_groups([group], call, concurrency=8)
    assert outcomes[0].triggered and seen == [threading.main_thread().name]
    assert run_groups([], lambda g: None) == []


def test_run_groups_carries_log_context_into_threads() -> None:
    structlog.contextvars.bind_contextvars(correlation_id="cid-42")
    seen: list[object] = []
    groups = [SyncGroup("demo", f"r{i}", "ap-southeast-1", "demo", False, ("v1",)) for i in range(3)]
    try:
        run_groups(
            groups, lambda g: seen.append(structlog.contextvars.get_contextvars().get("correlation_id")), 3
        )
    finally:
        structlog.contextvars.clear_contextvars()
    assert seen == ["cid-42"] * 3


def test_sync_call_uses_client() -> None:
    calls: list[tuple[str, str, dict[str, object]]] = []

    class FakeClient:
        def sync_images(self, namespace: str, repository: str, request: object) -> list[str]:
            calls.append((namespace, repository, request.wire()))  # type: ignore[attr-defined]
            return ["v9"]

    group = SyncGroup("demo", "team/app", "ap-southeast-1", "dr", False, ("v1", "v9"))
    (outcome,) = run_groups([group], sync_call(FakeClient()))  # type: ignore[arg-type]
    assert isinstance(outcome, GroupOutcome) and outcome.swr_list == ("v9",)
    assert calls == [
        (
            "demo",
            "team/app",
            {
                "imageTag": ["v1", "v9"],
                "override": False,
                "remoteNamespace": "dr",
                "remoteRegionId": "ap-southeast-1",
            },
        )
    ]
