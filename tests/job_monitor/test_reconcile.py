"""Reconcile against the emulator: plan, apply, resume, selection; the terminal command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.job_monitor.reconcile import cli
from functions.job_monitor.reconcile.run import MemoryMemo, Outcome, Repo, reconcile
from functions.job_monitor.reconcile.wiring import ReconcileSettings, clients, select_repos
from localdev.emulator import Emulator
from shared.logs import logs
from shared.swr.http import Deadline
from tests.conftest import EMULATOR_TOKEN

SRC, DST, DST2 = "cn-north-4", "ap-southeast-1", "ap-southeast-3"
RULES = [
    {"namespace": "team", "repository": "**", "targets": [{"region": DST, "namespace": "team"}]},
    {
        "namespace": "team",
        "repository": "svc/*",
        "tags": {"semver": ">=1.2,<2", "latest": 2},
        "targets": [{"region": DST2, "namespace": "team-dr"}],
    },
]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    logs.reset()  # the command logs to the (captured, then closed) stderr of its test


@pytest.fixture
def emu() -> Iterator[Emulator]:
    # jobs finish at the next request: a re-plan sees what the previous apply brought
    emulator = Emulator(port=0, static_tokens=(EMULATOR_TOKEN,), waiting_seconds=0, running_seconds=0)
    emulator.start()
    state = emulator.state
    for region, ns in ((DST, "team"), (DST2, "team-dr")):
        state.add_namespace(ns, region)
    for tag in ("1.0", "1.2.0", "1.3.0", "1.4.0-rc.1", "2.0.0", "latest"):
        state.add_image("team", "svc/api", tag)
    for tag in ("v1", "v2"):
        state.add_image("team", "web", tag)
    state.add_image("other", "tool", "v1")  # no rule covers it
    try:
        yield emulator
    finally:
        emulator.stop()


def env(emu: Emulator, **extra: str) -> dict[str, str]:
    return {
        "SWR_ENDPOINT": emu.url,
        "SWR_REGION": SRC,
        "SWR_AUTH_TOKEN": EMULATOR_TOKEN,
        "SWR_ENDPOINT_TEMPLATE": f"{emu.url}/regions/{{region}}",
        "HTTP_MAX_ATTEMPTS": "1",
        "SYNC_RULES": json.dumps(RULES),
        **extra,
    }


def run(emu: Emulator, memo: MemoryMemo | None = None, **kwargs: Any) -> Outcome:
    settings = ReconcileSettings.model_validate(env(emu))
    source, target_client = clients(settings, None)
    repos = select_repos(source, settings.rules)
    return reconcile(
        repos, settings.rules, source, target_client, memo=memo, source_region=SRC, concurrency=2, **kwargs
    )


def sync_posts(emu: Emulator) -> list[dict[str, Any]]:
    return [r for r in emu.state.requests if r["method"] == "POST" and r["path"].endswith("/sync_images")]


def target_tags(emu: Emulator, region: str, ns: str, repo: str) -> set[str]:
    emu.state.advance()  # finish the jobs whose time has come
    record = emu.state.region(region).repos.get((ns, repo))
    return set(record.tags) if record else set()


def test_the_rules_select_repositories_and_the_plan_shows_every_tag_with_its_reason(emu: Emulator) -> None:
    outcome = run(emu)
    plans = {f"{p.namespace}/{p.repository}": p for p in outcome.plans}
    assert set(plans) == {"team/svc/api", "team/web"}  # other/tool is covered by no rule
    api = {(t.target.region, t.target.namespace): t for t in plans["team/svc/api"].targets}
    assert set(api[(DST, "team")].to_sync) == {"1.0", "1.2.0", "1.3.0", "1.4.0-rc.1", "2.0.0", "latest"}
    # semver >=1.2,<2 without pre-releases, then the latest 2 by version
    assert api[(DST2, "team-dr")].to_sync == ("1.3.0", "1.2.0")
    skipped = api[(DST2, "team-dr")].skipped  # per target: every other source tag, with why
    assert set(skipped) == {"1.0", "1.4.0-rc.1", "2.0.0", "latest"}
    assert "outside semver" in skipped["2.0.0"] and "pre-release" in skipped["1.4.0-rc.1"]
    assert not api[(DST, "team")].skipped
    assert sync_posts(emu) == [], "a plan changes nothing"
    assert outcome.to_sync == 10 and outcome.complete


def test_an_empty_region_is_reconciled_and_a_second_run_plans_nothing(emu: Emulator) -> None:
    memo = MemoryMemo()
    first = run(emu, memo, apply=True)
    assert first.complete and first.triggered == 10
    assert len(sync_posts(emu)) == first.calls == 3  # one call per repository and destination
    assert target_tags(emu, DST, "team", "svc/api") == {
        "1.0",
        "1.2.0",
        "1.3.0",
        "1.4.0-rc.1",
        "2.0.0",
        "latest",
    }
    assert target_tags(emu, DST2, "team-dr", "svc/api") == {"1.2.0", "1.3.0"}
    second = run(emu, MemoryMemo(), apply=True)  # a fresh memo: only the target regions say what is there
    assert second.to_sync == 0 and second.calls == 0
    assert len(sync_posts(emu)) == 3


def test_a_run_cut_by_its_budget_resumes_without_a_duplicate_call(emu: Emulator) -> None:
    memo = MemoryMemo()
    first = run(emu, memo, apply=True, max_calls=1)
    assert first.stopped == "budget" and first.calls == 1
    second = run(emu, memo, apply=True, max_calls=1)
    third = run(emu, memo, apply=True, max_calls=5)
    assert third.stopped is None
    posts = sync_posts(emu)
    sent = [(p["path"], json.dumps(p.get("body"), sort_keys=True)) for p in posts]
    assert len(sent) == len(set(sent)) == 3, "every call once, none repeated"
    assert first.calls + second.calls + third.calls == 3


def test_a_triggered_tag_is_not_synced_again_while_it_travels(emu: Emulator) -> None:
    emu.state.waiting_seconds = 3600  # the jobs stay pending: the tags are not in the target yet
    memo = MemoryMemo()
    run(emu, memo, apply=True)
    again = run(emu, memo, apply=True)
    assert again.calls == 0 and again.already_triggered == 10


def test_a_deadline_stops_the_run_and_it_is_reported(emu: Emulator) -> None:
    outcome = run(emu, MemoryMemo(), apply=True, deadline=Deadline(0))
    assert outcome.stopped == "deadline" and not outcome.complete and outcome.calls == 0


def test_a_listing_failure_is_reported_never_guessed(emu: Emulator) -> None:
    settings = ReconcileSettings.model_validate(env(emu))
    source, target_client = clients(settings, None)
    outcome = reconcile(
        [Repo("team", "missing")], settings.rules, source, target_client, apply=True, source_region=SRC
    )
    # a source repository that does not exist has no tags: nothing to sync, nothing invented
    assert outcome.to_sync == 0 and outcome.calls == 0


def test_the_terminal_command_prints_a_table_then_applies_and_resumes(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for key, value in env(emu).items():
        monkeypatch.setenv(key, value)
    assert cli.main(["--dry-run"]) == cli.EXIT_OK
    out, err = capsys.readouterr()
    assert "team/svc/api" in out and f"{DST2}/team-dr" in out and "1.3.0, 1.2.0" in out
    assert "10 tag(s) to sync" in err and sync_posts(emu) == []

    state = tmp_path / "state.json"
    assert cli.main(["--apply", "--max-calls", "2", "--state", str(state), "--json"]) == cli.EXIT_PARTIAL
    first = json.loads(capsys.readouterr()[0])
    assert first["stopped"] == "budget" and first["calls"] == 2
    assert cli.main(["--apply", "--state", str(state), "--json"]) == cli.EXIT_OK
    second = json.loads(capsys.readouterr()[0])
    assert second["calls"] == 1 and second["resumed_after"]
    assert len(sync_posts(emu)) == 3


def test_bad_configuration_is_a_usage_error(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in env(emu, SWR_ENDPOINT_TEMPLATE="http://no-placeholder").items():
        monkeypatch.setenv(key, value)
    assert cli.main([]) == cli.EXIT_USAGE
    assert "SWR_ENDPOINT_TEMPLATE" in capsys.readouterr().err


# -- job-monitor's reconcile mode -------------------------------------------------------------------------------

MONITOR_TOKEN = "reconcile-test-monitor-token"


class _Ctx:
    def getRequestID(self) -> str:
        return "req-reconcile"

    def getRemainingTimeInMilliSeconds(self) -> int:
        return 60_000

    def getFunctionName(self) -> str:
        return "job-monitor"

    def getUserData(self, name: str) -> str | None:
        return None


@pytest.fixture
def monitor(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from functions.job_monitor import index
    from shared.state import reset_states

    for key, value in env(emu, MONITOR_TOKEN=MONITOR_TOKEN, MONITOR_REPOS="team/web").items():
        monkeypatch.setenv(key, value)
    index.APP.reset()
    reset_states()

    def call(body: dict[str, Any], token: str | None = MONITOR_TOKEN) -> tuple[int, dict[str, Any]]:
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        event = {
            "httpMethod": "POST",
            "path": "/job-monitor",
            "headers": headers,
            "queryStringParameters": {},
            "body": json.dumps(body),
            "isBase64Encoded": False,
        }
        out = index.handler(event, _Ctx())
        return out["statusCode"], json.loads(out["body"])

    yield call
    index.APP.reset()
    reset_states()


def test_the_function_plans_by_default(emu: Emulator, monitor: Any) -> None:
    status, answer = monitor({"mode": "reconcile"})
    assert status == 200 and answer["mode"] == "plan" and answer["to_sync"] == 10
    assert sync_posts(emu) == []


def test_the_function_applies_records_intents_and_the_monitor_proves_them(
    emu: Emulator, monitor: Any
) -> None:
    from shared.state import get_state, intents

    status, answer = monitor({"mode": "reconcile", "apply": True})
    assert status == 200 and answer["triggered"] == 10 and answer["calls"] == 3
    store = get_state(None)
    opened = intents.open_intents(store, 100)
    assert len(opened) == 10 and {i.source for i in opened} == {"reconcile"}
    emu.state.advance()
    status, report = monitor({})  # a monitor run settles them against the target regions
    assert status == 200 and report["replication"]["verified"] == 10
    status, again = monitor({"mode": "reconcile", "apply": True})
    assert again["to_sync"] == 0 and again["calls"] == 0 and len(sync_posts(emu)) == 3


def test_apply_needs_authentication_and_honours_dry_run(emu: Emulator, monitor: Any) -> None:
    status, answer = monitor({"mode": "reconcile", "apply": True}, token="wrong-token-wrong-token")
    assert status == 401
    status, answer = monitor({"mode": "reconcile", "apply": True, "dry_run": True})
    assert status == 200 and answer["mode"] == "plan" and sync_posts(emu) == []
    status, answer = monitor({"mode": "reconcile", "repos": ["NoSlash"]})
    assert status == 400
    status, answer = monitor({"mode": "bogus"})
    assert status == 400
