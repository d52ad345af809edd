"""Fault matrix: every function x every SWR fault, injected once (a retry should absorb it) and always (the
failure must be reported).

In every cell:

- the function ends before its deadline (a 4 s FunctionGraph timeout; elapsed time is measured);
- its answer tells the truth: push-sync answers a retryable 502/503 (with Retry-After) whenever a tag was not
  synced, and every target it calls ``synced`` has a job in the emulator; job-monitor reports every repository
  it could not read completely in ``not_scanned`` (``coverage_complete: false``) and every seeded failure it did
  read in ``failed``, and an ``issued`` re-sync really created a job; policy-export never drops a repository
  silently: every seeded policy is exported or its repository is in ``errors`` (or the whole answer is 502/503);
- no requested tag is lost: each one is synced in the emulator (a job exists) or reported failed.

Faults come from the emulator's fault injection (``state.add_fault``); the expired token is a real expiry of the
IAM token in the emulator in the middle of the run (the client must refresh it once), or, injected always, a 401
that no refresh cures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from localdev.emulator import Emulator
from tests.reliability import figures
from tests.reliability.support import (
    BUSY_BODY,
    DST,
    DST2,
    EXPIRED_BODY,
    WEBHOOK_SECRET,
    Outcome,
    digest_of,
    distribution,
    expire_tokens_mid_run,
    export,
    function_env,
    iam_requests,
    job_counts,
    monitor,
    push,
    swr_env,
)

DEADLINE_S = 4.0
SLOW_TIMEOUT = "0.25"  # HTTP_TIMEOUT of the slow-response cells
SLOW_DELAY = 0.5  # the emulator's delay: always longer than the timeout

FAULTS: dict[str, dict[str, Any]] = {
    "500": {"status": 500},
    "502": {"status": 502},
    "503": {"status": 503},
    "429-retry-after": {"status": 429, "headers": {"Retry-After": "1"}},
    "409-busy": {"status": 409, "body": BUSY_BODY},
    "401-expired-token": {"status": 401, "body": EXPIRED_BODY},  # "always"; "once" expires the real token
    "connection-reset": {"reset": True},
    "slow-response": {"delay": SLOW_DELAY},
    "malformed-json": {"status": 200, "body": '[{"truncated": '},
    "empty-body": {"status": 200, "body": ""},
    # Served normally, then the Content-Range header is replaced on every page: a page that claims far more
    # than exists (paging must still end), or one that claims fewer items than it holds and no more pages.
    "content-range-inflated": {"headers": {"Content-Range": "0-2/1000000"}},
    "content-range-short": {"headers": {"Content-Range": "0-1/1"}},
}
CONTENT_RANGE = {"content-range-inflated", "content-range-short"}
# Injected once, these must be absorbed by the client (retry, refresh, or ignoring a wrong header).
ABSORBABLE = set(FAULTS) - {"malformed-json", "empty-body"}


@dataclass(frozen=True)
class Target:
    function: str
    path: str  # regex for the fault (raw path with query)
    part: str  # substring of the request path, for the mid-run token expiry
    method: str
    paged: bool = False


TARGETS = {
    "push-sync:sync_images": Target("push-sync", r"/sync_images$", "/sync_images", "POST"),
    "job-monitor:sync_job": Target("job-monitor", r"/sync_job\?", "/sync_job", "GET", paged=True),
    "job-monitor:sync_images": Target("job-monitor", r"/sync_images$", "/sync_images", "POST"),
    "policy-export:repos": Target("policy-export", r"^/v2/manage/repos\?", "/v2/manage/repos", "GET", True),
    "policy-export:sync_repo": Target("policy-export", r"/sync_repo$", "/sync_repo", "GET"),
}

CELLS = [
    pytest.param(target, fault, mode, id=f"{target}-{fault}-{mode}")
    for target, spec in TARGETS.items()
    for fault in FAULTS
    if spec.paged or fault not in CONTENT_RANGE
    for mode in ("once", "always")
]


# -- scenarios ------------------------------------------------------------------------------------------------

PUSH_RULES = [
    {
        "name": "dr",
        "namespace": "demo",
        "repository": "team/**",
        "targets": [{"region": DST, "namespace": "demo"}, {"region": DST2, "namespace": "demo-dr"}],
    }
]
PUSHES = [("demo", "team/app", "v1"), ("demo", "team/app", "v2"), ("demo", "team/api", "v1")]
PUSH_TARGETS = [(DST, "demo"), (DST2, "demo-dr")]
MONITOR_REPOS = ["app-0", "app-1", "app-2"]
EXPORT_REPOS = ["app-0", "app-1", "app-2", "app-3", "app-4"]
EXPORT_POLICIES = [
    ("app-0", DST, "demo-dr"),
    ("app-2", DST, "demo-dr"),
    ("app-2", DST2, "demo-eu"),
    ("app-4", DST2, "demo-eu"),
]


class Scenario:
    def __init__(self, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
        self.emu = emulator
        self.monkeypatch = monkeypatch
        self.env = env

    def seed(self) -> None: ...
    def run(self) -> Outcome: ...
    def check(self, out: Outcome, absorbed: bool) -> None: ...


class PushScenario(Scenario):
    def seed(self) -> None:
        state = self.emu.state
        for ns, repo, tag in PUSHES:
            state.add_image(ns, repo, tag, digest_of(f"{repo}:{tag}"))
        state.add_namespace("demo", region=DST)
        state.add_namespace("demo-dr", region=DST2)
        self.env.update(SYNC_RULES=json.dumps(PUSH_RULES), WEBHOOK_SECRET=WEBHOOK_SECRET)

    def run(self) -> Outcome:
        payload = distribution((f"{ns}/{repo}", tag, digest_of(f"{repo}:{tag}")) for ns, repo, tag in PUSHES)
        return push(payload, DEADLINE_S)

    def check(self, out: Outcome, absorbed: bool) -> None:
        assert out.status in (200, 502, 503), out.body
        results = {(r["namespace"], r["repository"], r["tag"]): r for r in out.data["results"]}
        jobs = job_counts(self.emu)
        assert set(results) == set(PUSHES), "every requested tag has a result"
        for key in PUSHES:
            result = results[key]
            targets = {(t["region"], t["namespace"]): t for t in result["targets"]}
            assert set(targets) == set(PUSH_TARGETS), result
            for (region, namespace), target in targets.items():
                job_key = (*key, region, namespace)
                if target["status"] == "triggered":
                    assert jobs[job_key] >= 1, f"{job_key} reported synced but SWR has no job"
                else:
                    assert target["status"] == "failed" and target.get("retryable") is True, target
            if result["status"] != "triggered":
                assert result["status"] == "failed", result
                assert out.status in (502, 503) and out.header("Retry-After"), (out.status, out.headers)
        if absorbed:
            assert out.status == 200, out.body
            assert all(r["status"] == "triggered" for r in results.values())


class MonitorScenario(Scenario):
    def seed(self) -> None:
        state = self.emu.state
        now = datetime.now(timezone.utc)
        state.add_namespace("demo", region=DST)
        for repo in MONITOR_REPOS:
            for tag in ("v1", "v2", "v3"):
                state.add_image("demo", repo, tag)
            for tag, status, age in (("v1", "failed", 200), ("v2", "success", 150), ("v3", "success", 100)):
                state.add_job("demo", repo, tag, DST, "demo", status, now - timedelta(seconds=age))
            state.add_job("demo", repo, "v2", DST, "demo", "success", now - timedelta(seconds=50))
        self.before = job_counts(self.emu)
        self.env.update(
            MONITOR_REPOS=",".join(f"demo/{r}" for r in MONITOR_REPOS),
            MONITOR_PAGE_SIZE="2",
            MONITOR_CONCURRENCY="4",
            ALERT_TIMEOUT_SECONDS="1",
        )

    def run(self) -> Outcome:
        return monitor("", DEADLINE_S)

    def check(self, out: Outcome, absorbed: bool) -> None:
        report = out.data
        assert out.status in (200, 503), out.body
        gaps = {g["repository"]: g for g in report["not_scanned"]}
        assert report["coverage_complete"] is (not gaps)
        if gaps:
            assert report["healthy"] is False
        failed = {
            (f["namespace"], f["repository"], f["tag"], f["target_region"], f["target_namespace"]): f
            for f in report["failed"]
        }
        after = job_counts(self.emu)
        for repo in MONITOR_REPOS:
            key = ("demo", repo, "v1", DST, "demo")
            if f"demo/{repo}" in gaps and key not in failed:
                continue  # not (completely) read, and reported so
            assert key in failed, f"demo/{repo} reported read, but its failed job is missing: {report}"
            outcome = failed[key].get("resync")
            if outcome == "issued":
                assert after[key] > self.before[key], f"{key}: re-sync reported issued, no new job"
            else:
                assert outcome in ("error", "skipped_deadline", "rejected", "history_incomplete"), outcome
        for group in report["resync"]["groups"]:
            if group["outcome"] == "triggered":
                for tag in group["tags"]:
                    key = (
                        "demo",
                        group["repository"],
                        tag,
                        group["target_region"],
                        group["target_namespace"],
                    )
                    assert after[key] > self.before[key], group
        if absorbed:
            assert report["coverage_complete"] is True, report["not_scanned"]
            assert len(failed) == len(MONITOR_REPOS)
            assert all(f.get("resync") == "issued" for f in failed.values()), report["failed"]


class ExportScenario(Scenario):
    def seed(self) -> None:
        state = self.emu.state
        for repo in EXPORT_REPOS:
            state.add_repository("demo", repo)
        for repo, region, namespace in EXPORT_POLICIES:
            state.add_sync_repo("demo", repo, region, namespace, sync_auto=True, override=False)
        self.env.update(EXPORT_TOKEN="reliability-export-token-0123456789", EXPORT_REPO_PAGE_SIZE="2")
        self.env.update(EXPORT_CONCURRENCY="4")

    def run(self) -> Outcome:
        return export({"namespace": "demo"}, timeout_s=DEADLINE_S)

    def check(self, out: Outcome, absorbed: bool) -> None:
        assert out.status in (200, 502, 503), out.body
        if out.status != 200:
            assert out.data and out.data.get("error"), out.body
            if out.status == 503:
                assert out.header("Retry-After"), out.headers
            assert not absorbed, out.body
            return
        data = out.data
        exported = {(p["repository"], p["remote_region_id"], p["remote_namespace"]) for p in data["policies"]}
        errors = {e["repository"] for e in data["errors"]}
        assert exported <= set(EXPORT_POLICIES), "nothing invented"
        for policy in EXPORT_POLICIES:
            assert policy in exported or policy[0] in errors, f"{policy} silently missing: {data}"
        assert data["coverage_complete"] is (not errors)
        assert out.header("X-Export-Coverage-Complete") == ("true" if not errors else "false")
        if absorbed:
            assert not errors and exported == set(EXPORT_POLICIES), data


SCENARIOS: dict[str, Callable[[Emulator, pytest.MonkeyPatch, dict[str, str]], Scenario]] = {
    "push-sync": PushScenario,
    "job-monitor": MonitorScenario,
    "policy-export": ExportScenario,
}


@pytest.mark.parametrize(("target_id", "fault", "mode"), CELLS)
def test_fault_cell(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, target_id: str, fault: str, mode: str
) -> None:
    target = TARGETS[target_id]
    extra = {"HTTP_TIMEOUT": SLOW_TIMEOUT} if fault == "slow-response" else {}
    env = swr_env(emulator, "password", **extra)
    scenario = SCENARIOS[target.function](emulator, monkeypatch, env)
    scenario.seed()
    if fault == "401-expired-token" and mode == "once":
        # Sequential calls: with parallel ones, every call of the part can finish before the expiry lands,
        # and then no later call ever presents the dead token (the cell would test nothing).
        env.update(MONITOR_CONCURRENCY="1", SYNC_CONCURRENCY="1", EXPORT_CONCURRENCY="1")
    function_env(monkeypatch, **env)
    expiring = None
    if fault == "401-expired-token" and mode == "once":
        expiring = expire_tokens_mid_run(monkeypatch, emulator, target.part)
    else:
        emulator.state.add_fault(
            target.path, method=target.method, times=1 if mode == "once" else 0, **FAULTS[fault]
        )

    out = scenario.run()

    assert out.elapsed < DEADLINE_S, f"ran {out.elapsed:.2f}s, past its {DEADLINE_S}s deadline"
    # A Content-Range that contradicts its page is detectable, so even "always" it must cost nothing.
    scenario.check(out, absorbed=fault in CONTENT_RANGE or (mode == "once" and fault in ABSORBABLE))
    if expiring is not None:
        assert expiring.expired, "the token was never expired: the cell tested nothing"
        assert iam_requests(emulator) >= 2, "the client did not fetch a new token after the 401"
    figures.add("fault matrix cells passed")


def test_expired_token_is_refreshed_exactly_once(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm instance's cached IAM token expires between two deliveries: the next call gets 401, fetches one
    new token, and succeeds; nothing is reported failed."""
    state = emulator.state
    for tag in ("v1", "v2"):
        state.add_image("demo", "team/app", tag, digest_of(tag))
    state.add_namespace("demo", region=DST)
    rules = [{"namespace": "demo", "targets": [{"region": DST, "namespace": "demo"}]}]
    function_env(
        monkeypatch,
        **swr_env(emulator, "password", SYNC_RULES=json.dumps(rules), WEBHOOK_SECRET=WEBHOOK_SECRET),
    )
    assert push(distribution([("demo/team/app", "v1", digest_of("v1"))])).status == 200
    assert state.expire_tokens() == 1
    out = push(distribution([("demo/team/app", "v2", digest_of("v2"))]))
    assert out.status == 200, out.body
    assert iam_requests(emulator) == 2
    sync = [r["status"] for r in state.requests() if r["path"].endswith("/sync_images")]
    assert sync == [200, 401, 200]


HOSTILE_RETRY_AFTER = ["\u00b2", "\u0663", "-1", "1e400", "9" * 400, "Wed, 21 Oct 99999 07:28:00 GMT", "\x7f"]


@pytest.mark.parametrize(
    "value", HOSTILE_RETRY_AFTER, ids=[f"retry-after-{i}" for i in range(len(HOSTILE_RETRY_AFTER))]
)
def test_hostile_retry_after_is_survived(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A 429 whose Retry-After is garbage ("²" passes str.isdigit() but not float()) is still a 429: retried
    within the deadline, then reported; never an exception."""
    env = swr_env(emulator, "password")
    push_scenario = PushScenario(emulator, monkeypatch, env)
    push_scenario.seed()
    export_scenario = ExportScenario(emulator, monkeypatch, env)
    export_scenario.seed()
    function_env(monkeypatch, **env)
    for path in (r"/sync_images$", r"^/v2/manage/repos\?"):
        emulator.state.add_fault(path, status=429, headers={"Retry-After": value}, times=0)
    for scenario in (push_scenario, export_scenario):
        out = scenario.run()
        assert out.elapsed < DEADLINE_S
        assert out.status == 503 and out.header("Retry-After"), out.body
        scenario.check(out, absorbed=False)
