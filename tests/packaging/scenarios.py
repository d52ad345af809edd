"""What each function's sample events need from the emulator, their secrets, and what a good outcome looks like.

The secrets are the values the sample events under events/<function>/ were written with. The non-secret
configuration is NOT here: the tests take it from template.yaml / stack.yaml, so a broken deployment file fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localdev.emulator import Emulator

SOURCE = "cn-north-4"  # the emulator's default region = SWR_REGION in template.yaml and stack.yaml
TARGET = "ap-southeast-1"
PUSH_DIGEST = "sha256:9a7cd3b2f1e4c5d6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0"


@dataclass
class Outcome:
    """A handler's answer, normalised: HTTP status (if any) and the JSON or text payload."""

    status: int | None
    data: Any
    headers: dict[str, str]


@dataclass
class Scenario:
    secrets: dict[str, str]
    seed: Callable[[Emulator], None]
    check: Callable[[Emulator, Any, Outcome], None]


def _seed_push(emu: Emulator) -> None:
    emu.state.add_image("demo", "team/app", "v1.2.3", digest=PUSH_DIGEST)
    emu.state.add_namespace("demo", region=TARGET)


def _check_push(emu: Emulator, event: Any, outcome: Outcome) -> None:
    assert outcome.status in (None, 200), outcome
    jobs = [j for j in emu.state.jobs() if j.get("region") == SOURCE]
    assert jobs, f"no sync job was created in the emulator: {outcome.data}"
    assert all(j["remoteRegionId"] == TARGET and j["repoName"] == "team/app" for j in jobs), jobs


def _seed_monitor(emu: Emulator) -> None:
    emu.state.add_image("demo", "team/app", "v1")
    emu.state.add_job("demo", "team/app", "v1", TARGET, "demo", status="failed")


def _check_monitor(emu: Emulator, event: Any, outcome: Outcome) -> None:
    assert outcome.status in (None, 200), outcome
    report = outcome.data
    assert isinstance(report, dict) and report.get("status") not in (None, "swr_unavailable"), report
    if "repositories_scanned" in report:  # the full report (a cron call without the bearer gets counts only)
        assert report["repositories_scanned"] >= 1, report


def _seed_export(emu: Emulator) -> None:
    for repo in ("team/app", "app-001"):
        emu.state.add_repository("demo", repo)
        emu.state.add_sync_repo("demo", repo, TARGET, "demo")


def _check_export(emu: Emulator, event: Any, outcome: Outcome) -> None:
    assert outcome.status == 200, outcome
    count = {k.lower(): v for k, v in outcome.headers.items()}.get("x-export-count")
    assert count is not None and int(count) >= 1, outcome.headers


SCENARIOS: dict[str, Scenario] = {
    "push-sync": Scenario({"WEBHOOK_SECRET": "demo-webhook-secret"}, _seed_push, _check_push),
    "job-monitor": Scenario(
        {"MONITOR_TOKEN": "change-me-to-MONITOR_TOKEN-value"}, _seed_monitor, _check_monitor
    ),
    "policy-export": Scenario(
        {"EXPORT_TOKEN": "change-me-to-EXPORT_TOKEN-value"}, _seed_export, _check_export
    ),
}


def outcome_of_functiongraph(result: Any) -> Outcome:
    """A FunctionGraph return value: the APIG shape for HTTP triggers, a JSON value otherwise."""
    if isinstance(result, dict) and "statusCode" in result and "body" in result:
        body = result["body"]
        try:
            data = json.loads(body) if isinstance(body, str) and body[:1] in "{[" else body
        except ValueError:
            data = body
        return Outcome(int(result["statusCode"]), data, dict(result.get("headers") or {}))
    return Outcome(None, result, {})


def outcome_of_http(answer: dict[str, Any]) -> Outcome:
    body = answer["body"]
    try:
        data = json.loads(body) if body[:1] in "{[" else body
    except ValueError:
        data = body
    return Outcome(int(answer["status"]), data, dict(answer["headers"]))
