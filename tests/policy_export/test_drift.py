"""Drift against push-sync's rules: the pure comparison, and compare=rules end to end in every format."""

from __future__ import annotations

import csv
import io
import json

import pytest

from functions.policy_export.drift import DRIFT_COLUMNS, compute_drift
from functions.policy_export.model import Policy, RepoRef
from shared.rules import RuleSet, Target
from tests.policy_export.conftest import OTHER_REGION, TARGET_REGION, Caller

NS = "drift"
RULES = json.dumps(
    [
        {
            "name": "dr",
            "namespace": NS,
            "repository": "**",
            "targets": [{"region": TARGET_REGION, "namespace": "dr"}],
        },
        {
            "name": "eu-overwrite",
            "namespace": NS,
            "repository": "team/*",
            "targets": [{"region": OTHER_REGION, "namespace": "eu", "override": True}],
        },
    ]
)


def _policy(repo: str, region: str, ns: str, override: bool = False, pid: int = 1) -> Policy:
    return Policy(NS, repo, region, ns, True, override, pid, "", "")


# -- pure -------------------------------------------------------------------------------------------------------


def test_compute_drift_classifies_missing_extra_different() -> None:
    rules = RuleSet.parse(RULES)
    repos = [RepoRef(NS, n) for n in ("a", "b", "c", "d", "team/x", "broken")]
    policies = [
        _policy("a", TARGET_REGION, "dr", pid=1),  # in sync
        _policy("c", TARGET_REGION, "dr", override=True, pid=2),  # different
        _policy("d", OTHER_REGION, "other", pid=3),  # extra (and dr missing)
        _policy("team/x", TARGET_REGION, "dr", pid=4),
        _policy("team/x", OTHER_REGION, "eu", override=False, pid=5),  # different: rule wants override
    ]
    report = compute_drift(repos, policies, rules.desired_targets, skip={RepoRef(NS, "broken")})
    assert [(e.repository, e.remote_region_id, e.remote_namespace) for e in report.missing] == [
        ("b", TARGET_REGION, "dr"),
        ("d", TARGET_REGION, "dr"),
    ]
    assert [(e.repository, e.id, e.actual_override, e.desired_override) for e in report.extra] == [
        ("d", 3, False, None)
    ]
    assert [(e.repository, e.id, e.desired_override, e.actual_override) for e in report.different] == [
        ("c", 2, False, True),
        ("team/x", 5, True, False),
    ]
    assert report.repositories_compared == 5 and report.repositories_skipped == 1
    assert report.complete is False and report.in_sync is False
    assert [e.drift for e in report.entries] == ["missing", "missing", "extra", "different", "different"]
    assert list(report.entries[0].as_dict()) == list(DRIFT_COLUMNS)


def test_compute_drift_region_filter_and_duplicates() -> None:
    def desired(ns: str, repo: str) -> set[Target]:
        return {Target(TARGET_REGION, "dr"), Target(OTHER_REGION, "eu")}

    policies = [_policy("a", TARGET_REGION, "dr", pid=1), _policy("a", TARGET_REGION, "dr", pid=2)]
    report = compute_drift([RepoRef(NS, "a")], policies, desired, regions={TARGET_REGION})
    assert report.missing == []  # eu is outside the filter
    assert [(e.drift, e.id) for e in report.extra] == [("extra", 2)]  # a second policy to one destination
    assert compute_drift([RepoRef(NS, "a")], policies[:1], desired, regions={TARGET_REGION}).in_sync


def test_no_rules_match_means_every_policy_is_extra() -> None:
    report = compute_drift(
        [RepoRef("other", "x")],
        [Policy("other", "x", "r-1", "n", True, False, 9, "", "")],
        RuleSet.parse(RULES).desired_targets,
    )
    assert [e.drift for e in report.entries] == ["extra"]


# -- end to end -------------------------------------------------------------------------------------------------


@pytest.fixture
def drift_setup(emulator, export_env) -> None:
    state = emulator.state
    for name in ("a", "b", "c", "d", "team/x", "broken"):
        state.add_repository(NS, name)
    state.add_sync_repo(NS, "a", TARGET_REGION, "dr")
    state.add_sync_repo(NS, "c", TARGET_REGION, "dr", override=True)
    state.add_sync_repo(NS, "d", OTHER_REGION, "other")
    state.add_sync_repo(NS, "team/x", TARGET_REGION, "dr")
    state.add_sync_repo(NS, "team/x", OTHER_REGION, "eu", override=False)
    state.add_fault(r"/repos/broken/sync_repo$", method="GET", status=500, times=None)
    export_env.setenv("SYNC_RULES", RULES)


def _triples(entries: list[dict]) -> list[tuple[str, str, str]]:
    return [(e["repository"], e["remote_region_id"], e["remote_namespace"]) for e in entries]


def test_compare_rules_json(call: Caller, drift_setup) -> None:
    reply = call({"namespace": NS, "compare": "rules"})
    assert reply.status == 200, reply.body
    data = reply.json()
    drift = data["drift"]
    assert drift["summary"] == {
        "in_sync": False,
        "complete": False,
        "missing": 2,
        "extra": 1,
        "different": 2,
        "repositories_compared": 5,
        "repositories_skipped": 1,
    }
    assert _triples(drift["missing"]) == [("b", TARGET_REGION, "dr"), ("d", TARGET_REGION, "dr")]
    assert _triples(drift["extra"]) == [("d", OTHER_REGION, "other")]
    assert [(e["repository"], e["desired_override"], e["actual_override"]) for e in drift["different"]] == [
        ("c", False, True),
        ("team/x", True, False),
    ]
    assert len(data["policies"]) == 5, "the policies are exported too"
    assert [e["repository"] for e in data["errors"]] == ["broken"]
    assert reply.header("x-export-drift") == "missing=2,extra=1,different=2"


def test_compare_rules_csv_is_the_drift_table(call: Caller, drift_setup) -> None:
    reply = call({"namespace": NS, "compare": "rules", "format": "csv"})
    rows = list(csv.reader(io.StringIO(reply.body, newline="")))
    assert rows[0] == list(DRIFT_COLUMNS)
    data = [dict(zip(DRIFT_COLUMNS, r)) for r in rows[1:] if not r[0].startswith("#")]
    assert [(d["drift"], d["repository"]) for d in data] == [
        ("missing", "b"),
        ("missing", "d"),
        ("extra", "d"),
        ("different", "c"),
        ("different", "team/x"),
    ]
    assert data[0]["actual_override"] == "" and data[0]["desired_override"] == "false"
    assert "-drift" in reply.header("content-disposition")
    assert any("broken" in r[0] for r in rows if r[0].startswith("#"))


def test_compare_rules_ndjson_drift_lines(call: Caller, drift_setup) -> None:
    reply = call({"namespace": NS, "compare": "rules", "format": "ndjson"})
    lines = [json.loads(x) for x in reply.body.splitlines()]
    drift = [x for x in lines if x.get("_kind") == "drift"]
    assert [(d["drift"], d["repository"]) for d in drift] == [
        ("missing", "b"),
        ("missing", "d"),
        ("extra", "d"),
        ("different", "c"),
        ("different", "team/x"),
    ]
    assert lines[-1]["_kind"] == "meta" and lines[-1]["drift"]["missing"] == 2


def test_compare_rules_in_sync(call: Caller, emulator, export_env) -> None:
    emulator.state.add_repository(NS, "a")
    emulator.state.add_sync_repo(NS, "a", TARGET_REGION, "dr")
    export_env.setenv("SYNC_RULES", RULES)
    summary = call({"namespace": NS, "compare": "rules"}).json()["drift"]["summary"]
    assert summary["in_sync"] is True and summary["complete"] is True


def test_rules_from_file_and_invalid_rules_refuse_to_start(
    call: Caller, emulator, export_env, tmp_path
) -> None:
    from functions.policy_export import index

    emulator.state.add_repository(NS, "b")
    path = tmp_path / "rules.json"
    path.write_text(RULES)
    export_env.setenv("SYNC_RULES_FILE", str(path))
    assert call({"namespace": NS, "compare": "rules"}).json()["drift"]["summary"]["missing"] == 1

    export_env.delenv("SYNC_RULES_FILE")
    export_env.setenv("SYNC_RULES", '[{"targets": []}]')
    index.APP.reset()
    reply = call({"namespace": NS})
    assert reply.status == 500
    assert any("targets" in p for p in reply.json()["problems"])
