"""Pure parts: classification, decisions, systemic grouping, statistics, settings, overrides."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from functions.job_monitor.classify import (
    DISABLED,
    EXHAUSTED,
    FAILED,
    INCOMPLETE,
    OK,
    PENDING,
    RESYNC,
    STUCK,
    Key,
    KeyState,
    Policy,
    classify,
    classify_key,
    is_due,
    lag_stats,
    percentile,
    resync_decision,
    status_counts,
    systemic_groups,
)
from functions.job_monitor.settings import MonitorSettings
from functions.job_monitor.trigger import BadRequest, Overrides, options, parse_overrides
from shared.runtime.config import load_settings
from shared.runtime.model import Invocation, Request
from shared.swr.errors import ConfigError
from shared.swr.models import SyncJob

NOW = datetime(2025, 6, 2, 12, 0, 0, tzinfo=timezone.utc)
POLICY = Policy(
    now=NOW,
    lookback_start=NOW - timedelta(seconds=900),
    period=300,
    settle=300,
    stuck_after=1800,
    resync=True,
    max_resync=2,
)
KEY = Key("team", "app", "v1", "ap-southeast-1", "team")
_ids = iter(range(1, 1_000_000))


def job(
    status: str, age: float, tag: str = "v1", region: str = "ap-southeast-1", duration: float = 3, **kw: Any
) -> SyncJob:
    created = NOW - timedelta(seconds=age)
    return SyncJob.model_validate(
        {
            "id": kw.pop("id", next(_ids)),
            "namespace": "team",
            "repoName": "app",
            "tag": tag,
            "remoteRegionId": region,
            "remoteNamespace": kw.pop("target_ns", "team"),
            "status": status,
            "createdAt": created.isoformat(),
            "updatedAt": (created + timedelta(seconds=duration)).isoformat(),
            **kw,
        }
    )


def state(*jobs: SyncJob, policy: Policy = POLICY, complete: bool = True) -> KeyState:
    return classify_key(Key.of(jobs[0]), jobs, policy, complete)


@pytest.mark.parametrize(
    ("status", "age", "category"),
    [
        ("success", 10, OK),
        ("existed", 10, OK),
        ("failed", 10, FAILED),
        ("timeout", 10, FAILED),
        ("cancel", 10, FAILED),
        ("waiting", 10, PENDING),
        ("running", 1799, PENDING),
        ("running", 1800, STUCK),
        ("waiting", 5000, STUCK),
    ],
)
def test_category_of_the_latest_job(status: str, age: float, category: str) -> None:
    assert state(job(status, age)).category == category


def test_latest_is_by_created_then_id_not_by_input_order() -> None:
    s = state(job("success", 50, id=9), job("failed", 100, id=10), job("failed", 50, id=3))
    assert s.category == OK and s.latest.id == 9 and s.recovered


def test_streak_counts_failures_since_the_last_success() -> None:
    s = state(
        job("failed", 400), job("success", 300), job("failed", 200), job("timeout", 100), job("cancel", 10)
    )
    assert s.category == FAILED and s.streak == 3 and s.attempts_used == 2 and s.jobs == 5
    assert "after 2 re-sync attempt(s)" in s.reason


def test_due_times() -> None:
    failed = state(job("failed", 100, duration=20))
    assert failed.due_at == NOW - timedelta(seconds=80) + timedelta(seconds=300)
    stuck = state(job("running", 2000))
    assert stuck.due_at == NOW - timedelta(seconds=200)
    assert state(job("success", 10)).due_at is None


def test_is_due_window_is_half_open() -> None:
    def at(due_offset: float) -> bool:
        s = state(job("failed", 1000, duration=0))
        assert s.due_at is not None
        now = s.due_at + timedelta(seconds=due_offset)
        moved = Policy(**{**POLICY.__dict__, "now": now, "lookback_start": now - timedelta(seconds=900)})
        return is_due(classify_key(s.key, [s.latest], moved), moved)

    assert at(0) is True  # due exactly now
    assert at(299.999) is True
    assert at(300) is False  # the previous run's instant: it alerted then
    assert at(-1) is False  # not yet


def test_resync_decisions() -> None:
    assert resync_decision(state(job("failed", 10)), POLICY) == RESYNC
    assert (
        resync_decision(state(job("failed", 30), job("failed", 20), job("failed", 10)), POLICY) == EXHAUSTED
    )
    assert (
        resync_decision(state(job("failed", 10)), Policy(**{**POLICY.__dict__, "resync": False})) == DISABLED
    )
    assert resync_decision(state(job("failed", 10), complete=False), POLICY) == INCOMPLETE
    assert resync_decision(state(job("failed", 1000)), POLICY) is None  # older than the look-back
    assert resync_decision(state(job("success", 10)), POLICY) is None
    zero = Policy(**{**POLICY.__dict__, "max_resync": 0})
    assert resync_decision(state(job("failed", 10)), zero) == EXHAUSTED


def test_classify_groups_by_key_and_uses_the_repository_read() -> None:
    jobs = [
        job("failed", 10, tag="a"),
        job("success", 10, tag="b"),
        job("failed", 10, tag="a", region="x-y-1"),
    ]
    states = classify([("team", "app", jobs, True)], POLICY)
    assert [(s.key.tag, s.key.region, s.category) for s in states] == [
        ("a", "ap-southeast-1", FAILED),
        ("a", "x-y-1", FAILED),
        ("b", "ap-southeast-1", OK),
    ]
    blank = SyncJob.model_validate({"id": 1, "tag": "t", "status": "success"})
    [s] = classify([("ns", "repo/x", [blank], False)], POLICY)
    assert (s.key.namespace, s.key.repository, s.history_complete) == ("ns", "repo/x", False)


def test_systemic_groups() -> None:
    def states(jobs: list[SyncJob]) -> list[KeyState]:
        return classify([("team", "app", jobs, True)], POLICY)

    region_down = [job("failed", 10, tag=f"t{i}", region="r-a-1") for i in range(5)]
    assert [g.kind for g in systemic_groups(states(region_down), 5)] == ["target_region"]
    assert systemic_groups(states(region_down[:4]), 5) == []
    with_ok = [*region_down, job("success", 10, tag="fine", region="r-a-1")]
    assert systemic_groups(states(with_ok), 5) == []
    with_pending = [*region_down, job("running", 10, tag="busy", region="r-a-1")]
    assert len(systemic_groups(states(with_pending), 5)) == 1
    ns_down = [job("failed", 10, tag=f"n{i}", region="r-b-1", target_ns="gone") for i in range(5)]
    mixed = [*ns_down, job("success", 10, tag="ok", region="r-b-1", target_ns="team")]
    [group] = systemic_groups(states(mixed), 5)
    assert (group.kind, group.label, len(group.failing)) == ("target_namespace", "r-b-1/gone", 5)
    # a systemic region is not reported again per namespace
    assert [g.kind for g in systemic_groups(states(region_down + ns_down), 5)] == [
        "target_region",
        "target_region",
    ]


def test_status_counts_and_lag() -> None:
    jobs = [
        job("success", 10, duration=10),
        job("success", 20, duration=30),
        job("existed", 10),
        job("failed", 2000),  # before `since`
        job("success", 10, region="r-c-1", duration=7),
    ]
    since = NOW - timedelta(seconds=900)
    counts = status_counts(jobs, since)
    assert counts["success"] == 3 and counts["existed"] == 1 and counts["failed"] == 0 and len(counts) == 7
    assert lag_stats(jobs, since) == {
        "ap-southeast-1": {"count": 2, "p50_seconds": 10.0, "p95_seconds": 30.0, "max_seconds": 30.0},
        "r-c-1": {"count": 1, "p50_seconds": 7.0, "p95_seconds": 7.0, "max_seconds": 7.0},
    }


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 95) == 95 and percentile(values, 100) == 100
    assert percentile([4.0], 95) == 4.0


# -- settings -----------------------------------------------------------------------------------------------

BASE = {"SWR_REGION": "cn-north-4", "SWR_AUTH_TOKEN": "t0ken-value"}


def load(**env: str) -> MonitorSettings:
    values = {**BASE, **env}
    return load_settings(MonitorSettings, values.get)


def test_settings_defaults_and_windows() -> None:
    s = load()
    assert (s.concurrency, s.page_size, s.period_seconds, s.settle_seconds) == (8, 50, 300, 300)
    assert (s.stuck_after_seconds, s.max_resync, s.resync, s.alert_systemic_threshold) == (1800, 2, True, 5)
    assert s.lookback == 900
    assert s.horizon == max(900 + 3 * 300, 1800 + 300 + 300)
    assert load(MONITOR_LOOKBACK_SECONDS="3600").lookback == 3600
    assert load(MONITOR_MAX_RESYNC="10").horizon == 900 + 11 * 300
    assert load(MONITOR_RESYNC="false").resync is False
    assert load(ALERT_FORMAT=" Slack ").alert_format == "slack"


def test_settings_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as err:
        load(
            MONITOR_REPOS="team/app,noslash,Team/x,team/a**b{",
            MONITOR_NAMESPACES="ok,-bad",
            MONITOR_PERIOD_SECONDS="600",
            MONITOR_LOOKBACK_SECONDS="300",
            MONITOR_TOKEN="short",
            ALERT_WEBHOOK_URL="ftp://x",
            SMN_TOPIC_URN="urn:bad",
            ALERT_FORMAT="teams",
            MONITOR_CONCURRENCY="0",
        )
    text = " | ".join(err.value.problems)
    for name in (
        "MONITOR_REPOS: 'noslash'",
        "MONITOR_REPOS: invalid namespace 'Team'",
        "MONITOR_REPOS: bad glob 'a**b{'",
        "MONITOR_NAMESPACES: invalid namespace",
        "MONITOR_LOOKBACK_SECONDS",
        "MONITOR_TOKEN",
        "ALERT_WEBHOOK_URL",
        "SMN_TOPIC_URN",
        "ALERT_FORMAT",
        "MONITOR_CONCURRENCY",
    ):
        assert name in text, name
    assert "short" not in text
    assert not any(p.startswith("only") for p in err.value.problems)  # each problem stays whole


def test_scope_lists_keep_glob_alternatives_whole() -> None:
    s = load(MONITOR_REPOS=" team/{api,web} ,other/x,,team/{api,web}", MONITOR_NAMESPACES="a,b")
    assert s.repo_patterns == ["team/{api,web}", "other/x"]
    assert s.namespace_patterns == ["a", "b"]


def test_smn_derivations() -> None:
    urn = "urn:smn:ap-southeast-3:abcdef0123:alerts"
    s = load(SMN_TOPIC_URN=urn)
    assert s.smn_base() == "https://smn.ap-southeast-3.myhuaweicloud.com"
    assert s.smn_project_id() == "abcdef0123"
    assert load(SMN_TOPIC_URN=urn, RUNTIME_PROJECT_ID="rt").smn_project_id() == "rt"
    assert (
        load(SMN_TOPIC_URN=urn, RUNTIME_PROJECT_ID="rt", CLOUD_SDK_PROJECT_ID="sdk").smn_project_id() == "sdk"
    )
    assert load(SMN_TOPIC_URN=urn, SMN_ENDPOINT="http://127.0.0.1:9/").smn_base() == "http://127.0.0.1:9"


def test_secrets_are_masked_in_repr() -> None:
    s = load(MONITOR_TOKEN="a-long-monitor-token", ALERT_WEBHOOK_URL="https://hooks.example/T/B/secretpart")
    assert "secretpart" not in repr(s) and "a-long-monitor-token" not in repr(s)


# -- overrides ----------------------------------------------------------------------------------------------


def invocation(
    trigger: str, body: bytes = b"", evt: Any = None, platform: str = "functiongraph"
) -> Invocation:
    return Invocation(platform, trigger, Request(body=body), "r", "job-monitor", event=evt)  # type: ignore[arg-type]


class _Log:
    def info(self, *a: Any, **k: Any) -> None:
        pass


def test_parse_overrides_per_trigger() -> None:
    log = _Log()
    timer = {"trigger_type": "TIMER", "user_event": '{"repos": ["a/b"], "dry_run": true}'}
    assert parse_overrides(invocation("timer", evt=timer), log)[0] == Overrides(repos=["a/b"], dry_run=True)
    for plain in ("hello", "", "[1]", "42"):
        assert parse_overrides(invocation("timer", evt={**timer, "user_event": plain}), log)[0] == Overrides()
    assert (
        parse_overrides(invocation("timer", body=b'{"repos": 1}', platform="openfaas"), log)[0] == Overrides()
    )
    assert parse_overrides(invocation("http", body=b'{"alert": false}'), log)[0] == Overrides(alert=False)
    assert parse_overrides(invocation("direct", evt={"namespaces": ["x"]}), log)[0] == Overrides(
        namespaces=["x"]
    )
    with pytest.raises(BadRequest):
        parse_overrides(invocation("http", body=b'{"repos": "a/b"}'), log)


def test_options_merge() -> None:
    s = load(MONITOR_REPOS="team/app", MONITOR_RESYNC="false")
    opts = options(s, Overrides(namespaces=["other"], resync=True, dry_run=True), "t", [])
    assert (opts.repos, opts.namespaces, opts.resync, opts.dry_run, opts.alert) == (
        [],
        ["other"],
        False,
        True,
        True,
    )
    assert options(load(MONITOR_NAMESPACES="n"), Overrides(alert=False), "t", []).alert is False
    with pytest.raises(BadRequest) as err:
        options(s, Overrides(repos=["x"]), "t", [])
    assert err.value.status == 400


def test_an_undocumented_status_is_read_not_rejected_and_ends_up_stuck():
    """Live SWR may send a status the docs do not list: the page still parses, and the key is never ok."""
    from datetime import datetime, timedelta, timezone

    from shared.swr.models import SyncJob, SyncStatus

    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    job = SyncJob.model_validate(
        {
            "id": 9,
            "repoName": "app",
            "tag": "v1",
            "remoteRegionId": "ap-southeast-1",
            "remoteNamespace": "ns",
            "status": "paused",
            "createdAt": created.isoformat(),
        }
    )
    assert job.status is SyncStatus.UNKNOWN and job.status_raw == "paused"
    assert not job.status.is_ok and not job.status.is_final
    assert SyncJob.model_validate({"id": 1, "status": "SUCCESS"}).status is SyncStatus.SUCCESS
    counts = status_counts([job], created - timedelta(seconds=1))
    assert counts["unknown"] == 1 and counts["success"] == 0
