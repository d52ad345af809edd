"""The proof's pure decision for one intent, over every combination of evidence that matters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from functions.job_monitor.evidence import decide
from shared.state.intents import Intent
from shared.swr.models import SyncJob, Tag

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
D1, D2 = "sha256:" + "11" * 32, "sha256:" + "22" * 32
VERIFY = 900.0


def intent(digest: str = D1, resyncs: int = 0) -> Intent:
    return Intent(
        id="i",
        namespace="demo",
        repository="team/app",
        tag="v1",
        digest=digest,
        region="ap-southeast-1",
        target_namespace="demo",
        created_at=T0,
        last_action_at=T0,
        resyncs=resyncs,
    )


def job(
    status: str, created: datetime = T0 + timedelta(seconds=1), region: str = "ap-southeast-1"
) -> SyncJob:
    data: dict[str, Any] = {
        "id": 7,
        "tag": "v1",
        "remoteRegionId": region,
        "remoteNamespace": "demo",
        "status": status,
        "createdAt": created.isoformat(),
    }
    return SyncJob.model_validate(data)


def tag(digest: str, updated: datetime | None = T0 + timedelta(seconds=5)) -> dict[str, Tag]:
    return {"v1": Tag.model_validate({"Tag": "v1", "digest": digest, "updated": updated})}


AT = T0 + timedelta(seconds=60)
LATE = T0 + timedelta(seconds=901)


@pytest.mark.parametrize(
    ("case", "the_intent", "tags", "jobs", "now", "expected"),
    [
        ("tag with the pushed digest", intent(), tag(D1), [job("success")], AT, "verified"),
        ("tag, job not seen yet", intent(), tag(D1), [], AT, "verified"),
        ("no digest pushed, fresh tag", intent(""), tag(D2), [], AT, "verified"),
        ("no digest pushed, old tag, no job", intent(""), tag(D2, T0 - timedelta(days=1)), [], AT, "pending"),
        (
            "no digest pushed, old tag, job done",
            intent(""),
            tag(D2, T0 - timedelta(days=1)),
            [job("existed")],
            AT,
            "verified",
        ),
        ("job failed", intent(), {}, [job("failed")], AT, "failed"),
        ("job timed out", intent(), {}, [job("timeout")], AT, "failed"),
        ("job running", intent(), {}, [job("running")], LATE, "pending"),
        ("nothing yet", intent(), {}, [], AT, "pending"),
        ("nothing within VERIFY_AFTER", intent(), {}, [], LATE, "missing"),
        ("job succeeded, no tag, overdue", intent(), {}, [job("success")], LATE, "missing"),
        ("job succeeded, no tag, in time", intent(), {}, [job("success")], AT, "pending"),
        (
            "job to another region only",
            intent(),
            {},
            [job("failed", region="ap-southeast-3")],
            LATE,
            "missing",
        ),
        ("a job older than the push", intent(), {}, [job("failed", T0 - timedelta(hours=1))], AT, "pending"),
        ("other digest, job succeeded", intent(), tag(D2), [job("success")], AT, "failed"),
        ("other digest (older image), syncing", intent(), tag(D2), [job("running")], AT, "pending"),
        ("other digest, job failed", intent(), tag(D2), [job("failed")], AT, "failed"),
        ("other digest, overdue", intent(), tag(D2), [], LATE, "failed"),
    ],
)
def test_decide(
    case: str, the_intent: Intent, tags: dict[str, Tag], jobs: list[SyncJob], now: datetime, expected: str
) -> None:
    assert decide(the_intent, tags, jobs, now, VERIFY).status == expected, case


def test_a_mismatch_names_both_digests() -> None:
    d = decide(intent(), tag(D2), [job("success")], AT, VERIFY)
    assert d.reason == f"digest mismatch: pushed {D1}, target region has {D2}"
    failed = decide(intent(), tag(D2), [job("failed")], AT, VERIFY)
    assert failed.reason == "sync job 7 failed"  # the job failed: re-synced, not a mismatch
