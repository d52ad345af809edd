"""Paging past EXPORT_MAX_BYTES (follow ``next`` to the end) and bounded concurrency of the policy fetch."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest

from functions.policy_export.paging import wire_size
from tests.policy_export.conftest import (
    BIG_NS,
    EMULATOR_TOKEN,
    SMALL_NS,
    SMALL_REPOS,
    Caller,
    Seeded,
    rows_of,
    sync_repo_requests,
)

BUDGET = 6000


def _follow(call: Caller, query: dict, parse) -> tuple[list[dict], list]:
    """Every page from the first to the one without ``next``; returns (policies, replies)."""
    policies: list[dict] = []
    replies = []
    cursor = None
    for _ in range(100):
        reply = call({**query, **({"cursor": cursor} if cursor else {})})
        assert reply.status == 200, reply.body
        assert wire_size(reply.body) <= BUDGET
        replies.append(reply)
        page, cursor = parse(reply)
        policies.extend(page)
        if cursor is None:
            return policies, replies
        assert reply.header("x-export-next-cursor") == cursor
        assert f"cursor={cursor}" in reply.header("link")
    raise AssertionError("paging did not end")


def _json(reply):
    data = reply.json()
    return data["policies"], data.get("next")


def _ndjson(reply):
    lines = [json.loads(x) for x in reply.body.splitlines()]
    assert lines[-1]["_kind"] == "meta"
    return [x for x in lines if "_kind" not in x], lines[-1].get("next")


def _csv(reply):
    rows = list(csv.reader(io.StringIO(reply.body, newline="")))
    header = rows[0]
    data = [dict(zip(header, r)) for r in rows[1:] if not r[0].startswith("#")]
    for d in data:
        d["sync_auto"] = d["sync_auto"] == "true"
        d["override"] = d["override"] == "true"
        d["id"] = int(d["id"])
    comments = [r[0] for r in rows[1:] if r[0].startswith("# next: ")]
    cursor = comments[0].removeprefix("# next: ") if comments else None
    assert cursor == reply.header("x-export-next-cursor")
    return data, cursor


@pytest.mark.parametrize(("fmt", "parse"), [("json", _json), ("ndjson", _ndjson), ("csv", _csv)])
def test_paging_past_the_size_limit(call: Caller, seeded: Seeded, export_env, fmt: str, parse) -> None:
    export_env.setenv("EXPORT_MAX_BYTES", str(BUDGET))
    query = {"namespace": SMALL_NS, "format": fmt}
    policies, replies = _follow(call, query, parse)
    assert len(replies) >= 2, "80 policies do not fit 6000 bytes"
    assert rows_of(policies) == seeded.expected(SMALL_NS)
    ids = [p["id"] for p in policies]
    assert len(ids) == len(set(ids)), "no policy on two pages"
    # The union equals the unpaged export, in order.
    export_env.setenv("EXPORT_MAX_BYTES", "4000000")
    from functions.policy_export import index

    index.APP.reset()
    full, _ = parse(call(query))
    assert policies == full


def test_limit_pages_by_count(call: Caller, seeded: Seeded) -> None:
    query = {"namespace": SMALL_NS, "limit": "30"}
    first = call(query).json()
    assert first["count"] == 30 and first["page"] == {"offset": 0, "items": 30, "total_items": 80}
    second = call({**query, "cursor": first["next"]}).json()
    third = call({**query, "cursor": second["next"]}).json()
    assert third["count"] == 20 and "next" not in third
    assert third["content_hash"] == first["content_hash"]
    assert third["errors"] == [] and "warnings" not in third


def test_changed_data_between_pages_is_flagged(call: Caller, seeded: Seeded, emulator) -> None:
    query = {"namespace": SMALL_NS, "limit": "50"}
    first = call(query).json()
    emulator.state.add_sync_repo(SMALL_NS, "svc-00", "cn-north-4", "late")
    second = call({**query, "cursor": first["next"]}).json()
    assert second["warnings"] and "changed" in second["warnings"][0]


def _max_overlap(times: list[datetime], window: float) -> int:
    """Largest number of requests that arrived within ``window`` seconds of one another. Each request is held
    ``window`` seconds by the emulator's delay fault after it arrives, so that many were in flight together."""
    stamps = sorted(t.timestamp() for t in times)
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_fetch_is_concurrent_and_bounded(call: Caller, seeded: Seeded, emulator, export_env) -> None:
    delay = 0.05
    concurrency = 8
    export_env.setenv("EXPORT_CONCURRENCY", str(concurrency))
    emulator.state.add_fault(
        r"^/v2/manage/namespaces/ops/repos/[^/]+/sync_repo$", method="GET", delay=delay, times=None
    )
    reply = call({"namespace": SMALL_NS})
    assert reply.status == 200 and reply.json()["total"] == 80

    requests = sync_repo_requests(emulator)
    assert len(requests) == SMALL_REPOS, "exactly one request per repository"
    arrivals = [datetime.fromisoformat(r["time"].replace("Z", "+00:00")) for r in requests]
    overlap = _max_overlap(arrivals, delay * 0.9)  # a 10% margin against clock granularity
    assert overlap > 1, "requests must overlap"
    assert overlap <= concurrency, "never more than EXPORT_CONCURRENCY in flight"


def test_fetch_policies_reports_max_in_flight(emulator, seeded: Seeded) -> None:
    from functions.policy_export.fetch import fetch_policies
    from functions.policy_export.model import RepoRef
    from shared.swr.auth import TokenAuth
    from shared.swr.client import SwrClient

    emulator.state.add_fault(r"/sync_repo$", method="GET", delay=0.02, times=None)
    client = SwrClient(emulator.url, TokenAuth(EMULATOR_TOKEN))
    refs = [RepoRef(BIG_NS, f"app-{i:03d}") for i in range(60)]
    outcome = fetch_policies(client, refs, concurrency=6)
    assert 1 < outcome.max_in_flight <= 6
    assert outcome.errors == []
    assert outcome.stats.requests == 60, "concurrent workers' requests are all counted"
    names = {r.repository for r in refs}
    assert sorted((p.namespace, p.repository, p.remote_region_id) for p in outcome.policies) == sorted(
        r[:3] for r in seeded.expected(BIG_NS) if r[1] in names
    )


def test_sequential_when_concurrency_is_one(emulator, seeded: Seeded) -> None:
    from functions.policy_export.fetch import fetch_policies
    from functions.policy_export.model import RepoRef
    from shared.swr.auth import TokenAuth
    from shared.swr.client import SwrClient

    client = SwrClient(emulator.url, TokenAuth(EMULATOR_TOKEN))
    outcome = fetch_policies(client, [RepoRef(SMALL_NS, f"svc-{i:02d}") for i in range(10)], concurrency=1)
    assert outcome.max_in_flight == 1 and len(outcome.policies) == 20
