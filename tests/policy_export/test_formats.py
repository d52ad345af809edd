"""Every format against the emulator with hundreds of repositories: rows, order, metadata, headers."""

from __future__ import annotations

import csv
import io
import json
import re

from functions.policy_export.model import COLUMNS
from tests.policy_export.conftest import (
    BIG_NS,
    BIG_REPOS,
    INJECTION,
    SMALL_NS,
    TARGET_REGION,
    Caller,
    Seeded,
    rows_of,
    sync_repo_requests,
)

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def _sort_key(p: dict) -> tuple:
    return (p["namespace"], p["repository"], p["remote_region_id"], p["remote_namespace"], p["id"])


def test_json_export_of_a_large_namespace(call: Caller, seeded: Seeded, emulator) -> None:
    reply = call({"namespace": BIG_NS})
    assert reply.status == 200, reply.body
    assert reply.header("content-type") == "application/json; charset=utf-8"
    data = reply.json()
    assert list(data)[:9] == [
        "generated_at",
        "source_region",
        "query",
        "count",
        "total",
        "page",
        "content_hash",
        "coverage_complete",
        "error_count",
    ]
    assert data["source_region"] == "cn-north-4"
    assert data["coverage_complete"] is True and data["errors"] == [] and "next" not in data
    assert data["count"] == data["total"] == len(seeded.expected(BIG_NS))
    assert rows_of(data["policies"]) == seeded.expected(BIG_NS)
    policies = data["policies"]
    assert [list(p) for p in policies] == [list(COLUMNS)] * len(policies)
    assert policies == sorted(policies, key=_sort_key)
    assert all(ISO.fullmatch(p["created_at"]) and ISO.fullmatch(p["updated_at"]) for p in policies)
    assert re.fullmatch(r"[0-9a-f]{64}", data["content_hash"])
    assert reply.header("x-export-content-hash") == data["content_hash"]
    assert reply.header("x-export-count") == str(data["count"])
    assert reply.header("x-export-errors") == "0"
    # One sync_repo request per repository (302), whatever the concurrency.
    assert len(sync_repo_requests(emulator)) == BIG_REPOS + 2


def test_content_hash_is_stable_across_runs_and_formats(call: Caller, seeded: Seeded) -> None:
    first = call({"namespace": BIG_NS}).json()
    second = call({"namespace": BIG_NS}).json()
    assert first["content_hash"] == second["content_hash"]
    csv_reply = call({"namespace": BIG_NS, "format": "csv"})
    assert csv_reply.header("x-export-content-hash") == first["content_hash"]


def test_csv_round_trips_through_the_csv_module(call: Caller, seeded: Seeded) -> None:
    reply = call({"namespace": BIG_NS, "format": "csv"})
    assert reply.status == 200
    assert reply.header("content-type").startswith("text/csv")
    assert "\r\n" in reply.body and "\n" not in reply.body.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(reply.body, newline="")))
    assert rows[0] == list(COLUMNS)
    data = [dict(zip(COLUMNS, r)) for r in rows[1:]]
    assert not any(r[0].startswith("#") for r in rows), "a complete last page has no trailer"
    parsed = [
        (
            d["namespace"],
            d["repository"],
            d["remote_region_id"],
            d["remote_namespace"].removeprefix("'")
            if d["remote_namespace"].startswith("'=")
            else d["remote_namespace"],
            d["sync_auto"] == "true",
            d["override"] == "true",
        )
        for d in data
    ]
    assert sorted(parsed) == seeded.expected(BIG_NS)
    assert [(d["namespace"], d["repository"], d["remote_region_id"]) for d in data] == sorted(
        (d["namespace"], d["repository"], d["remote_region_id"]) for d in data
    )
    assert all(d["sync_auto"] in ("true", "false") and d["id"].isdigit() for d in data)


def test_csv_cells_are_formula_injection_safe(call: Caller, seeded: Seeded) -> None:
    reply = call({"namespace": BIG_NS, "repository": "team/api", "format": "csv"})
    rows = list(csv.reader(io.StringIO(reply.body, newline="")))
    assert len(rows) == 2
    cell = rows[1][COLUMNS.index("remote_namespace")]
    assert cell == "'" + INJECTION
    for row in rows[1:]:
        assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in row)
    # JSON carries the value unchanged: only CSV is opened by spreadsheets.
    data = call({"namespace": BIG_NS, "repository": "team/api"}).json()
    assert data["policies"][0]["remote_namespace"] == INJECTION


def test_ndjson_one_policy_per_line_then_a_meta_line(call: Caller, seeded: Seeded) -> None:
    reply = call({"namespace": SMALL_NS, "format": "ndjson"})
    assert reply.status == 200
    assert reply.header("content-type") == "application/x-ndjson; charset=utf-8"
    assert reply.body.endswith("\n")
    lines = [json.loads(line) for line in reply.body.splitlines()]
    policies = [x for x in lines if "_kind" not in x]
    assert [list(p) for p in policies] == [list(COLUMNS)] * len(policies)
    assert rows_of(policies) == seeded.expected(SMALL_NS)
    meta = lines[-1]
    assert meta["_kind"] == "meta" and [x for x in lines if x.get("_kind") == "meta"] == [meta]
    assert meta["count"] == meta["total"] == len(policies) == 80
    assert meta["coverage_complete"] is True and "next" not in meta


def test_format_by_accept_header_and_query_wins(call: Caller, seeded: Seeded) -> None:
    query = {"namespace": SMALL_NS, "repository": "svc-0?"}
    assert call(query, headers={"accept": "text/csv"}).header("content-type").startswith("text/csv")
    assert (
        call(query, headers={"accept": "application/x-ndjson"})
        .header("content-type")
        .startswith("application/x-ndjson")
    )
    assert (
        call(query, headers={"accept": "text/html,*/*;q=0.8"})
        .header("content-type")
        .startswith("application/json")
    )
    reply = call({**query, "format": "json"}, headers={"accept": "text/csv"})
    assert reply.header("content-type").startswith("application/json")
    reply = call(query, headers={"accept": "text/html"})
    assert reply.status == 406


def test_content_disposition_filename(call: Caller, seeded: Seeded) -> None:
    reply = call({"namespace": SMALL_NS, "format": "csv"})
    match = re.fullmatch(
        r'attachment; filename="swr-sync-policies-ops-(\d{4}-\d\d-\d\d)\.csv"',
        reply.header("content-disposition"),
    )
    assert match
    reply = call({"namespace": [SMALL_NS, BIG_NS], "repository": "svc-01,team/api", "format": "ndjson"})
    assert reply.header("content-disposition").startswith('attachment; filename="swr-sync-policies-demo-ops-')
    assert reply.header("content-disposition").endswith('.ndjson"')


def test_filters_globs_regions_and_several_namespaces(call: Caller, seeded: Seeded) -> None:
    reply = call(
        {
            "namespace": f"{BIG_NS},{SMALL_NS}",
            "repository": ["app-00{0,3}", "svc-1*"],
            "remote_region": TARGET_REGION,
        }
    )
    data = reply.json()
    assert reply.status == 200, data
    got = rows_of(data["policies"])
    expected = sorted(
        r
        for ns in (BIG_NS, SMALL_NS)
        for r in seeded.expected(ns)
        if r[2] == TARGET_REGION and (r[1] in ("app-000", "app-003") or re.fullmatch(r"svc-1\d", r[1]))
    )
    assert got == expected and len(got) == 12
    assert data["query"] == {
        "namespace": [BIG_NS, SMALL_NS],
        "repository": ["app-00{0,3}", "svc-1*"],
        "remote_region": [TARGET_REGION],
    }
    # ** crosses '/', * does not.
    assert {
        p["repository"] for p in call({"namespace": BIG_NS, "repository": "**/api"}).json()["policies"]
    } == {"team/api"}
    assert (
        call({"namespace": BIG_NS, "repository": "*/api"}).json()["policies"][0]["repository"] == "team/api"
    )
    assert call({"namespace": BIG_NS, "repository": "*"}).json()["total"] == len(
        [r for r in seeded.expected(BIG_NS) if "/" not in r[1]]
    )


def test_named_repositories_are_fetched_without_listing_the_namespace(
    call: Caller, seeded: Seeded, emulator
) -> None:
    reply = call({"namespace": SMALL_NS, "repository": "svc-01,svc-02"})
    assert reply.json()["total"] == 4
    from tests.policy_export.conftest import logged_requests

    assert not [r for r in logged_requests(emulator) if r["path"].startswith("/v2/manage/repos")]


def test_empty_namespace_exports_nothing(call: Caller, emulator) -> None:
    emulator.state.add_namespace("empty")
    data = call({"namespace": "empty"}).json()
    assert data["policies"] == [] and data["total"] == 0 and data["coverage_complete"] is True


def test_openfaas_entry_point(export_env, seeded: Seeded) -> None:
    from functions.policy_export import index
    from localdev.context import OpenFaaSEvent
    from tests.policy_export.conftest import EXPORT_TOKEN

    event = OpenFaaSEvent(
        b"",
        {"Authorization": f"Bearer {EXPORT_TOKEN}", "Accept": "text/csv"},
        method="GET",
        query={"namespace": SMALL_NS, "repository": "svc-0*"},
        path="/",
    )
    result = index.handle(event, None)
    assert result["statusCode"] == 200
    rows = list(csv.reader(io.StringIO(result["body"], newline="")))
    assert rows[0] == list(COLUMNS) and len(rows) == 1 + 20
