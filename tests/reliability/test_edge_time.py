"""Time that cannot overflow or mix kinds: every timestamp a server can send parses to an aware UTC datetime
(a zone-less one is UTC), arithmetic near year 1 and 9999 saturates, a bad job date never sinks a monitor run,
a token with an absurd expiry is used once and never cached, any Retry-After is read within bounds."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from functions.job_monitor.run import build_sinks, run_monitor
from functions.job_monitor.settings import MonitorSettings
from functions.job_monitor.trigger import Overrides, options
from shared.logs import logs
from shared.runtime.connect import connect
from shared.swr import timeutil
from shared.swr.auth import IamPasswordAuth, clear_token_cache
from shared.swr.http import MAX_RETRY_AFTER, Deadline, UrllibTransport, retry_after_seconds
from shared.swr.models import SyncJob

TOKEN = "edge-time-token-0123456789abcdef"

offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(lambda m: timedelta(minutes=m))


def _zone_text(offset: timedelta | None, style: int) -> str:
    if offset is None:
        return ["", "Z", "z", " UTC"][style % 4]
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return [f"{sign}{hh:02d}:{mm:02d}", f"{sign}{hh:02d}{mm:02d}", f"{sign}{hh:02d}:{mm:02d}"][style % 3]


@settings(max_examples=1_000, deadline=None)
@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)),
    st.none() | offsets,
    st.integers(min_value=0, max_value=9),
    st.sampled_from(["T", "t", " "]),
    st.integers(min_value=0, max_value=11),
)
def test_every_iso_timestamp_a_server_can_send_parses_to_aware_utc(
    naive: datetime, offset: timedelta | None, digits: int, sep: str, style: int
) -> None:
    fraction = f"{naive.microsecond:06d}123"[:digits]  # 0 to 9 digits (beyond 6: nanoseconds, dropped)
    text = (
        f"{naive.year:04d}-{naive.month:02d}-{naive.day:02d}{sep}{naive.hour:02d}:{naive.minute:02d}:"
        f"{naive.second:02d}" + (f".{fraction}" if digits else "") + _zone_text(offset, style)
    )
    parsed = timeutil.parse(text)
    assert parsed is not None and parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0), text
    written = naive.replace(microsecond=int(fraction.ljust(6, "0")[:6]) if digits else 0)
    zone = timezone.utc if offset is None else timezone(offset)
    try:
        expected = written.replace(tzinfo=zone).astimezone(timezone.utc)
    except OverflowError:
        expected = timeutil.MIN_UTC if written.year < 5000 else timeutil.MAX_UTC
    assert parsed == expected, text
    # Arithmetic on what was parsed never raises, whatever the date.
    for seconds in (-1e12, -86400, 0, 86400, 1e12):
        timeutil.add(parsed, seconds)
    SyncJob.model_validate({"id": 1, "status": "failed", "createdAt": text, "updatedAt": text})


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=80), st.integers(), st.floats(), st.none(), st.booleans()))
def test_any_value_parses_or_is_unknown(value: object) -> None:
    parsed = timeutil.parse(value)
    assert parsed is None or parsed.utcoffset() == timedelta(0)


def test_saturation_at_the_ends_of_the_calendar() -> None:
    assert timeutil.add(timeutil.MAX_UTC, 1) == timeutil.MAX_UTC
    assert timeutil.add(timeutil.MIN_UTC, -1) == timeutil.MIN_UTC
    assert timeutil.add(timeutil.MAX_UTC, timedelta(days=10**8)) == timeutil.MAX_UTC
    assert timeutil.add(datetime(2024, 1, 1, tzinfo=timezone.utc), 1e300) == timeutil.MAX_UTC
    assert timeutil.parse("0001-01-01T00:00:00+01:00") == timeutil.MIN_UTC
    assert timeutil.parse("9999-12-31T23:59:59-01:00") == timeutil.MAX_UTC
    assert timeutil.parse("2024-05-02T08:00:00") == datetime(2024, 5, 2, 8, tzinfo=timezone.utc)
    assert timeutil.parse(1714636800000) == datetime(2024, 5, 2, 8, tzinfo=timezone.utc)  # epoch ms
    assert timeutil.parse("2024-13-02T08:00:00Z") is None


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=100))
def test_any_retry_after_is_bounded_or_ignored(value: str) -> None:
    seconds = retry_after_seconds(value)
    assert seconds is None or 0.0 <= seconds <= MAX_RETRY_AFTER


@pytest.mark.parametrize(
    "value",
    [
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Mon, 01 Jan 0001 00:00:00 +2359",
        "9" * 60,
        "Fri, 31 Dec 99999 23:59:59 GMT",
    ],
)
def test_extreme_retry_after_values(value: str) -> None:
    seconds = retry_after_seconds(value)
    assert seconds is None or 0.0 <= seconds <= MAX_RETRY_AFTER


BAD_DATES = [
    "2024-05-02T08:00:00",  # naive: UTC
    "9999-12-31T23:59:59Z",  # + settle/stuck time overflows
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    "not a date",
    "2024-02-30T00:00:00Z",
    1714636800000,
    -1e300,
    "",
]


def test_bad_job_dates_never_sink_a_monitor_run(httpserver: HTTPServer) -> None:
    jobs = [
        {
            "id": i,
            "tag": f"t{i}",
            "status": status,
            "createdAt": date,
            "updatedAt": date,
            "remoteRegionId": "ap-southeast-1",
            "remoteNamespace": "dr",
            "namespace": "demo",
            "repoName": "app",
        }
        for i, (date, status) in enumerate(itertools.product(BAD_DATES, ["failed", "running", "success"]))
    ]
    httpserver.expect_request("/v2/manage/namespaces/demo/repos/app/sync_job").respond_with_json(jobs)
    settings_ = MonitorSettings.model_validate(
        {
            "SWR_ENDPOINT": httpserver.url_for("/"),
            "SWR_AUTH_TOKEN": TOKEN,
            "HTTP_MAX_ATTEMPTS": "1",
            "MONITOR_REPOS": "demo/app",
            "MONITOR_RESYNC": "false",
            "MONITOR_PAGE_SIZE": "100",
        }
    )
    client = connect(settings_, 20_000)
    opts = options(settings_, Overrides(), "test", [])
    now = datetime.now(timezone.utc)
    report = run_monitor(
        settings_, client, opts, now, build_sinks(settings_), {}, logs.get_logger()
    ).to_dict()
    json.dumps(report)
    assert report["repositories_scanned"] == 1
    assert report["not_scanned"] == []


@pytest.mark.parametrize(
    "expires_at",
    ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00", "2000-01-01T00:00:00Z", "2099-01-01T00:00:00Z"],
)
def test_a_token_with_an_absurd_expiry_is_used_once_and_never_cached(
    httpserver: HTTPServer, expires_at: str
) -> None:
    clear_token_cache()
    issued = itertools.count(1)

    def handler(_req: Request) -> Response:
        body = json.dumps({"token": {"expires_at": expires_at}})
        return Response(
            body, status=201, headers={"X-Subject-Token": f"absurd-expiry-token-{next(issued):04d}"}
        )

    httpserver.expect_request("/v3/auth/tokens").respond_with_handler(handler)
    auth = IamPasswordAuth(httpserver.url_for("/"), "u", "password-0123", "d", "p", UrllibTransport())
    assert auth.token(Deadline(10)) == "absurd-expiry-token-0001"
    assert auth.token(Deadline(10)) == "absurd-expiry-token-0002"  # not cached: asked again
    clear_token_cache()
