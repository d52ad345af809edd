"""Permanent failures are recorded as failed intents, not bounced: Distribution (retries any non-2xx forever)
gets a 200 naming the failure; the senders that give up keep their 422; job-monitor alerts each once."""

from __future__ import annotations

import json
from datetime import timedelta

from freezegun import freeze_time

from tests.job_monitor.conftest import T0
from tests.proof.conftest import DIGEST, Stack
from tests.push_sync.conftest import Caller, make_settings
from tests.reliability.support import distribution


def ghost_distribution() -> dict[str, object]:
    return distribution([("demo/team/ghost", "v1", DIGEST)])


def test_distribution_gets_200_naming_the_recorded_failure(stack: Stack) -> None:
    response = stack.caller(ghost_distribution())
    body = json.loads(response.body)
    assert response.status == 200
    assert body["results"][0]["status"] == "failed"
    assert "unknown namespace or repository in SWR" in body["results"][0]["reason"]
    assert body["summary"]["failures_recorded"].startswith("permanent failures recorded as failed intents")
    [intent] = stack.intents()
    assert intent.status == "failed" and intent.repository == "team/ghost"
    assert intent.reason.startswith("unknown namespace or repository in SWR")
    # its redelivery (Distribution would not send one after a 2xx, but a proxy might) records nothing new
    assert stack.caller(ghost_distribution()).status == 200
    assert len(stack.intents()) == 1


def test_other_senders_keep_their_422_and_the_failure_is_recorded(stack: Stack) -> None:
    response = stack.caller(
        {"namespace": "demo", "repository": "team/ghost", "tags": ["v1"], "digest": DIGEST}
    )
    assert response.status == 422
    [intent] = stack.intents()
    assert intent.status == "failed" and intent.source == "generic"


def test_an_invalid_name_is_a_failed_intent_without_target(stack: Stack) -> None:
    response = stack.caller(distribution([("demo/Team/App", "v1", DIGEST)]))
    assert response.status == 200
    [intent] = stack.intents()
    assert (intent.status, intent.region) == ("failed", "")
    assert intent.reason.startswith("rejected: ")


def test_unrecordable_failures_are_still_bounced(emulator: object) -> None:
    """No store to record it in: the 4xx is the only trace left, so Distribution keeps getting it."""
    caller = Caller(make_settings(SWR_ENDPOINT=emulator.url, STATE_REDIS_URL="redis://127.0.0.1:1/0"))  # type: ignore[attr-defined]
    assert caller(ghost_distribution()).status == 422


def test_monitor_alerts_each_recorded_failure_once(stack: Stack) -> None:
    with freeze_time(T0) as clock:
        stack.caller(ghost_distribution())
        clock.tick(timedelta(seconds=10))
        first = stack.run()
        again = stack.run()
    assert [a["kind"] for a in first["alerts"]] == ["intent_rejected"]
    assert "demo/team/ghost:v1 -> ap-southeast-1/demo" in first["alerts"][0]["title"]
    assert first["replication"]["failed"] == 1 and not first["healthy"]
    assert again["alerts"] == [] and stack.intents() == []


def test_a_hostile_name_is_recorded_and_alerted_without_breaking_anything(stack: Stack) -> None:
    raw = json.dumps(distribution([("demo/team/app", "v1", DIGEST)])).replace("team/app", "te\\ud800am/app")
    response = stack.caller(raw.encode())
    assert response.status == 200
    [intent] = stack.intents()
    assert intent.status == "failed" and intent.repository.startswith("te")  # as the parser reports it
    report = stack.run()
    assert [a["kind"] for a in report["alerts"]] == ["intent_rejected"]
    json.dumps(report)  # still a valid answer
