"""Pure parts: parameter parsing, Accept negotiation, cursors, page selection, rendering, settings."""

from __future__ import annotations

import csv
import io
import json

import pytest

from functions.policy_export.model import COLUMNS, ExportResult, FetchError, Policy, RepoRef, content_hash
from functions.policy_export.paging import Cursor, CursorError, PageSpan, select_span, wire_size
from functions.policy_export.params import (
    NotAcceptable,
    ParamError,
    negotiate,
    parse_query,
    parse_repository,
    split_commas,
)
from functions.policy_export.render import build_document, render_page, safe_cell
from localdev.emulator import Emulator
from shared.swr.errors import ApiError, DeadlineExceeded, TransportError
from tests.conftest import EMULATOR_TOKEN
from tests.firstcall import first_call
from tests.policy_export.conftest import EXPORT_TOKEN, Seeded, apig_event, rows_of

# -- params -----------------------------------------------------------------------------------------------------


def test_split_commas_keeps_brace_groups() -> None:
    assert split_commas("a,b") == ["a", "b"]
    assert split_commas("app-{a,b},c/**") == ["app-{a,b}", "c/**"]
    assert split_commas("{x,{y,z}}") == ["{x,{y,z}}"]
    assert split_commas("a,") == ["a", ""]


@pytest.mark.parametrize(
    ("glob", "yes", "no"),
    [
        ("app-*", ["app-1", "app-"], ["app/x", "xapp-1"]),
        ("team/**", ["team/a", "team/a/b"], ["team", "teams/a"]),
        ("**/api", ["api", "a/api", "a/b/api"], ["xapi"]),
        ("svc-0?", ["svc-01"], ["svc-1", "svc-001"]),
        ("{web,api}-v{1,2}", ["web-v1", "api-v2"], ["db-v1", "web-v3"]),
    ],
)
def test_repository_globs(glob: str, yes: list[str], no: list[str]) -> None:
    pattern = parse_repository(glob)
    assert not pattern.literal
    assert all(pattern.matches(n) for n in yes)
    assert not any(pattern.matches(n) for n in no)


def test_literal_repository() -> None:
    pattern = parse_repository("team/api")
    assert pattern.literal and pattern.matches("team/api") and not pattern.matches("team/apix")
    for bad in ("Team", "a//b", "-a", "{a", "a}", "***", "re:a.*", "x" * 300):
        with pytest.raises(ValueError):
            parse_repository(bad)


def test_parse_query_normalises() -> None:
    q = parse_query(
        {
            "namespace": ["b,a", "a"],
            "repository": ["x-{1,2}", "y"],
            "remote_region": ["cn-north-4"],
            "limit": ["5"],
        }
    )
    assert q.namespaces == ("a", "b")
    assert [p.text for p in q.repositories] == ["x-{1,2}", "y"]
    assert q.remote_regions == ("cn-north-4",) and q.limit == 5 and q.format == "json"
    # Order and repetition do not change the fingerprint (the cursor binding).
    same = parse_query(
        {
            "namespace": ["a", "b"],
            "repository": ["y", "x-{1,2}"],
            "remote_region": ["cn-north-4"],
            "limit": ["5"],
        }
    )
    assert q.fingerprint() == same.fingerprint()
    assert (
        parse_query({"namespace": ["a"], "format": ["csv"]}).fingerprint()
        != parse_query({"namespace": ["a"]}).fingerprint()
    )


def test_parse_query_collects_every_problem() -> None:
    with pytest.raises(ParamError) as err:
        parse_query(
            {"namespace": ["UP"], "format": ["x"], "limit": ["0"], "zzz\n": ["1"], "compare": ["nope"]}
        )
    assert sorted(err.value.problems) == ["compare", "format", "limit", "namespace", "zzz\\n"]


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        (None, "json"),
        ("", "json"),
        ("*/*", "json"),
        ("text/csv", "csv"),
        ("text/*", "csv"),
        ("application/x-ndjson", "ndjson"),
        ("application/ndjson", "ndjson"),
        ("application/*", "json"),
        ("text/csv;q=0.5, application/json;q=0.9", "json"),
        ("text/csv, application/json", "json"),  # equal q and specificity: json > csv > ndjson
        ("text/html,application/xhtml+xml,*/*;q=0.8", "json"),
        ("application/json;q=0, */*", "csv"),
    ],
)
def test_negotiate(accept: str | None, fmt: str) -> None:
    assert negotiate(accept) == fmt


def test_negotiate_refuses() -> None:
    with pytest.raises(NotAcceptable):
        negotiate("text/html")
    with pytest.raises(NotAcceptable):
        negotiate("application/json;q=0")


# -- cursors and spans ------------------------------------------------------------------------------------------


def test_cursor_round_trip_and_binding() -> None:
    cursor = Cursor(42, "q" * 24, "c" * 64)
    text = cursor.encode()
    assert "=" not in text and "+" not in text and "/" not in text
    back = Cursor.decode(text, "q" * 24)
    assert back.offset == 42 and back.same_content("c" * 64) and not back.same_content("d" * 64)
    with pytest.raises(CursorError):
        Cursor.decode(text, "r" * 24)
    with pytest.raises(CursorError):
        Cursor.decode("%%%", "q" * 24)


def test_select_span() -> None:
    sizes = [10] * 10
    assert select_span(10, 0, sizes.__getitem__, None, 0) == PageSpan(0, 10, 10)
    assert select_span(10, 0, sizes.__getitem__, 55, 20) == PageSpan(0, 3, 10)
    assert select_span(10, 8, sizes.__getitem__, 55, 20) == PageSpan(8, 10, 10)
    assert select_span(10, 0, sizes.__getitem__, 5, 20) == PageSpan(0, 1, 10), "always progress"
    assert select_span(10, 0, sizes.__getitem__, None, 0, limit=4) == PageSpan(0, 4, 10)
    assert select_span(10, 10, sizes.__getitem__, 50, 0) == PageSpan(10, 10, 10)
    with pytest.raises(CursorError):
        select_span(10, 11, sizes.__getitem__, 50, 0)


def test_wire_size_is_never_below_utf8_size() -> None:
    for text in ("plain", 'q"uote\\', "crlf\r\n", "ünïcødé", "😀", "\x00\x1f"):
        assert wire_size(text) >= len(text.encode())
    assert wire_size('a"b') == 4


# -- rendering --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (True, "true"),
        (False, "false"),
        (None, ""),
        (7, "7"),
    ],
)
def test_safe_cell(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


def _result(n: int, errors: int = 0) -> ExportResult:
    policies = [
        Policy(
            "ns",
            f"repo-{i:04d}",
            "cn-north-4",
            "=evil" if i == 0 else "dst",
            True,
            i % 2 == 0,
            i + 1,
            "2024-01-01T00:00:00.000000Z",
            "",
        )
        for i in range(n)
    ]
    errs = [
        FetchError("ns", f"bad-{i:03d}", "api", 500, "SVCSTG.SWR.5000001", 'boom, "quoted"\nnext line', True)
        for i in range(errors)
    ]
    return ExportResult(("ns",), [RepoRef("ns", p.repository) for p in policies], policies, errs)


def _meta(result: ExportResult) -> dict:
    return {
        "generated_at": "2024-01-01T00:00:00.000000Z",
        "source_region": "cn-north-4",
        "query": {"namespace": ["ns"]},
        "total": len(result.policies),
        "content_hash": result.content_hash,
        "coverage_complete": result.coverage_complete,
        "error_count": len(result.errors),
    }


@pytest.mark.parametrize("fmt", ["json", "csv", "ndjson"])
def test_pages_respect_the_budget_and_cover_everything(fmt: str) -> None:
    result = _result(500, errors=3)
    doc = build_document(fmt, result, _meta(result))
    budget = 8000
    offset, seen, pages = 0, 0, 0
    while True:
        page = render_page(
            doc, offset, budget, None, lambda o: Cursor(o, "q" * 24, result.content_hash).encode()
        )
        assert page.size == wire_size(page.body) <= budget
        assert page.errors_shown == 3
        seen += page.span.end - page.span.start
        pages += 1
        if page.next_cursor is None:
            break
        offset = Cursor.decode(page.next_cursor, "q" * 24).offset
        assert offset == page.span.end
    assert seen == 500 and pages > 5


def test_errors_never_take_more_than_half_the_budget() -> None:
    result = _result(50, errors=400)
    doc = build_document("json", result, _meta(result))
    page = render_page(doc, 0, 8000, None, lambda o: "c")
    data = json.loads(page.body)
    assert 0 < len(data["errors"]) < 400
    assert data["errors_omitted"] == 400 - len(data["errors"]) and data["error_count"] == 400
    assert data["count"] > 0


def test_csv_trailer_is_parseable_and_single_celled() -> None:
    result = _result(3, errors=2)
    doc = build_document("csv", result, _meta(result))
    body = render_page(doc, 0, None, None, lambda o: "c").body
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert rows[0] == list(COLUMNS)
    assert rows[1][3] == "'=evil"
    comments = rows[4:]
    assert all(len(r) == 1 and r[0].startswith("# ") for r in comments)
    assert "next line" in comments[1][0] and "\n" not in comments[1][0]


def test_content_hash_ignores_order_of_discovery_but_not_content() -> None:
    a = _result(5).policies
    assert content_hash(a) == content_hash(list(a))
    changed = [*a[:-1], Policy(**{**a[-1].as_dict(), "override": not a[-1].override})]
    assert content_hash(changed) != content_hash(a)


def test_fetch_error_kinds() -> None:
    ref = RepoRef("ns", "r")
    assert FetchError.from_exception(ref, ApiError(404, "C", "gone")).kind == "not_found"
    assert FetchError.from_exception(ref, ApiError(401, "C", "no")).kind == "auth"
    assert FetchError.from_exception(ref, TransportError("reset", "GET", "/x")).kind == "transport"
    assert FetchError.from_exception(ref, DeadlineExceeded("late")).kind == "deadline"
    internal = FetchError.from_exception(ref, KeyError("secret-value"))
    assert internal.kind == "internal" and "secret" not in internal.message


# -- settings and packaging -------------------------------------------------------------------------------------


def test_settings_list_every_problem() -> None:
    from functions.policy_export.settings import FunctionSettings
    from shared.runtime.config import load_settings
    from shared.swr.errors import ConfigError

    env = {"EXPORT_CONCURRENCY": "0", "EXPORT_MAX_BYTES": "7000000", "SYNC_RULES": "not json"}
    with pytest.raises(ConfigError) as err:
        load_settings(FunctionSettings, env.get)
    text = " | ".join(err.value.problems)
    for name in ("EXPORT_CONCURRENCY", "EXPORT_MAX_BYTES", "SYNC_RULES", "EXPORT_TOKEN", "SWR_REGION"):
        assert name in text


def test_settings_defaults() -> None:
    from functions.policy_export.settings import ExportSettings, FunctionSettings
    from shared.runtime.config import load_settings

    env = {"SWR_REGION": "cn-north-4", "EXPORT_TOKEN": "t" * 16}
    settings = load_settings(FunctionSettings, env.get)
    assert (settings.concurrency, settings.max_bytes, settings.allow_unauthenticated) == (
        16,
        4_000_000,
        False,
    )
    assert "t" * 16 not in repr(settings)
    assert (
        load_settings(ExportSettings, {"SWR_ENDPOINT": "http://127.0.0.1:9"}.get).source_region()
        == "127.0.0.1:9"
    )


def test_first_request_after_a_cold_start_imports_nothing(seeded: Seeded, emulator: Emulator) -> None:
    """#22: the export machinery and the SWR client are imported with the handler (every request needs them),
    so the first request pays only its own work, and gets the same export as any later one."""
    env = {
        "SWR_ENDPOINT": emulator.url,
        "SWR_REGION": "cn-north-4",
        "SWR_AUTH_TOKEN": EMULATOR_TOKEN,
        "EXPORT_TOKEN": EXPORT_TOKEN,
        "LOG_LEVEL": "WARNING",
    }
    result = first_call(
        "functions.policy_export.index", apig_event({"namespace": "ops", "format": "json"}), env
    )
    assert result["status"] == 200, result
    assert rows_of(json.loads(result["body"])["policies"]) == seeded.expected("ops")
    assert result["new"] == []
