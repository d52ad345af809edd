"""Partial failures are reported, never silently dropped; namespace failures fail the request clearly."""

from __future__ import annotations

import csv
import io
import json

from tests.policy_export.conftest import BIG_NS, SMALL_NS, Caller, Seeded, rows_of

FAILING = "svc-07"


def _fail_one(emulator, status: int = 500, repo: str = FAILING) -> None:
    emulator.state.add_fault(rf"/repos/{repo}/sync_repo$", method="GET", status=status, times=None)


def test_failed_repository_is_in_the_errors_section(call: Caller, seeded: Seeded, emulator) -> None:
    _fail_one(emulator)
    reply = call({"namespace": SMALL_NS})
    assert reply.status == 200
    data = reply.json()
    assert data["coverage_complete"] is False
    assert data["error_count"] == 1
    [error] = data["errors"]
    assert error["namespace"] == SMALL_NS and error["repository"] == FAILING
    assert error["status"] == 500 and error["kind"] == "api" and error["retryable"] is True
    # Everything else is there.
    expected = [r for r in seeded.expected(SMALL_NS) if r[1] != FAILING]
    assert rows_of(data["policies"]) == expected
    assert reply.header("x-export-errors") == "1"
    assert reply.header("x-export-coverage-complete") == "false"


def test_failed_repository_in_ndjson_is_an_error_line(call: Caller, seeded: Seeded, emulator) -> None:
    _fail_one(emulator, status=403)
    reply = call({"namespace": SMALL_NS, "format": "ndjson"})
    lines = [json.loads(x) for x in reply.body.splitlines()]
    errors = [x for x in lines if x.get("_kind") == "error"]
    assert [(e["repository"], e["status"], e["kind"]) for e in errors] == [(FAILING, 403, "auth")]
    assert lines[-1]["_kind"] == "meta"
    assert lines[-1]["coverage_complete"] is False and lines[-1]["error_count"] == 1


def test_failed_repository_in_csv_is_a_trailer_and_a_header(call: Caller, seeded: Seeded, emulator) -> None:
    _fail_one(emulator)
    reply = call({"namespace": SMALL_NS, "format": "csv"})
    assert reply.status == 200
    assert reply.header("x-export-errors") == "1"
    assert reply.header("x-export-coverage-complete") == "false"
    rows = list(csv.reader(io.StringIO(reply.body, newline="")))
    data = [r for r in rows[1:] if not r[0].startswith("#")]
    trailer = [r for r in rows[1:] if r[0].startswith("#")]
    assert len(data) == 78
    assert rows[-len(trailer) :] == trailer, "comments come after the data"
    assert all(len(r) == 1 for r in trailer)
    assert "could not be listed" in trailer[0][0]
    assert any(f"{SMALL_NS}/{FAILING}: HTTP 500" in r[0] for r in trailer)


def test_named_missing_repository_is_an_error_not_a_silence(call: Caller, seeded: Seeded) -> None:
    data = call({"namespace": SMALL_NS, "repository": "svc-01,does-not-exist"}).json()
    assert data["coverage_complete"] is False
    assert [(e["repository"], e["status"], e["kind"]) for e in data["errors"]] == [
        ("does-not-exist", 404, "not_found")
    ]
    assert data["total"] == 2


def test_transient_failure_is_retried(call: Caller, seeded: Seeded, emulator) -> None:
    emulator.state.add_fault(rf"/repos/{FAILING}/sync_repo$", method="GET", status=503, times=1)
    data = call({"namespace": SMALL_NS}).json()
    assert data["coverage_complete"] is True and data["total"] == 80


def test_namespace_listing_error_is_502(call: Caller, seeded: Seeded, emulator) -> None:
    emulator.state.add_fault(r"^/v2/manage/repos", method="GET", status=500, times=None)
    reply = call({"namespace": SMALL_NS})
    assert reply.status == 502
    data = reply.json()
    assert SMALL_NS in data["error"] and data["namespace"] == SMALL_NS
    assert data["upstream"]["status"] == 500


def test_namespace_listing_without_answer_is_503(call: Caller, seeded: Seeded, emulator) -> None:
    emulator.state.add_fault(r"^/v2/manage/repos", method="GET", reset=True, times=None)
    reply = call({"namespace": SMALL_NS})
    assert reply.status == 503
    assert reply.header("retry-after")
    assert "try again" in reply.json()["error"]


def test_unknown_namespace_is_404(call: Caller, seeded: Seeded) -> None:
    reply = call({"namespace": "nope"})
    assert reply.status == 404
    assert "nope" in reply.json()["error"]


def test_namespace_failure_among_several_fails_the_request(call: Caller, seeded: Seeded, emulator) -> None:
    emulator.state.add_fault(rf"namespace={BIG_NS}", method="GET", status=500, times=None)
    reply = call({"namespace": [SMALL_NS, BIG_NS]})
    assert reply.status == 502 and reply.json()["namespace"] == BIG_NS


def test_empty_namespace_when_the_namespace_list_is_forbidden(call: Caller, emulator) -> None:
    emulator.state.add_namespace("quiet")
    emulator.state.add_fault(r"^/v2/manage/namespaces$", method="GET", status=403, times=None)
    data = call({"namespace": "quiet"}).json()
    assert data["total"] == 0 and data["coverage_complete"] is True
