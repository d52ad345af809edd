"""Retries, backoff, deadlines, Retry-After, transport failures and typed errors (no real sleeps)."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from freezegun import freeze_time
from pytest_httpserver import HTTPServer

from shared.swr.auth import TokenAuth
from shared.swr.client import SwrClient
from shared.swr.errors import ApiError, AuthError, DeadlineExceeded, NotFound, TransportError
from shared.swr.http import (
    BUSY_CODE,
    CallStats,
    Deadline,
    HttpRequest,
    HttpResponse,
    RetryPolicy,
    call_with_retries,
    error_from_response,
    retry_after_seconds,
)
from shared.swr.models import parse_error_body

from .conftest import MaxJitter, Sleeps

PATH = "/v2/manage/namespaces/ns1/repos/app/sync_repo"
SWR_ERR = [{"errorCode": "SVCSTG.SWR.5000001", "errorMessage": "internal", "detail": "db down"}]


def _list(client: SwrClient) -> object:
    return client.list_sync_repos("ns1", "app")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- retryable answers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (500, SWR_ERR, "SVCSTG.SWR.5000001"),
        (
            502,
            {"error_code": "APIG.0201", "error_msg": "Backend unavailable", "request_id": "apig-1"},
            "APIG.0201",
        ),
        (503, "", ""),
        (
            429,
            {"error_code": "APIG.0308", "error_msg": "The throttling threshold has been reached"},
            "APIG.0308",
        ),
        (409, [{"errorCode": BUSY_CODE, "errorMessage": "system resource busy", "detail": ""}], BUSY_CODE),
        (409, {"errorCode": BUSY_CODE, "errorMessage": "system resource busy"}, BUSY_CODE),  # single object
    ],
)
def test_retryable_answers_stop_at_max_attempts(
    httpserver: HTTPServer,
    make_client: Callable[..., SwrClient],
    sleeps: Sleeps,
    status: int,
    body: object,
    code: str,
) -> None:
    payload = body if isinstance(body, str) else json.dumps(body)
    httpserver.expect_request(PATH).respond_with_data(
        payload, status=status, headers={"X-Request-Id": "rid-9"}
    )
    client = make_client(max_attempts=4, base_delay=0.2, max_delay=5.0)
    with pytest.raises(ApiError) as info:
        _list(client)
    assert len(httpserver.log) == 4
    assert info.value.status == status and info.value.code == code and info.value.retryable
    assert info.value.request_id == "rid-9"
    assert (client.stats.requests, client.stats.retries, client.stats.failures) == (4, 3, 1)
    if status != 429:
        assert sleeps == [0.2, 0.4, 0.8]  # full jitter, capped at base * 2**n (the rng picks the cap here)


def test_success_after_retries(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], sleeps: Sleeps
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_json(SWR_ERR, status=500)
    httpserver.expect_oneshot_request(PATH).respond_with_json(
        [{"errorCode": BUSY_CODE, "errorMessage": "busy"}], status=409
    )
    httpserver.expect_request(PATH).respond_with_json([])
    seen: list[tuple[int, float, str]] = []
    client = make_client()
    client.on_retry = lambda attempt, delay, err: seen.append((attempt, delay, type(err).__name__))
    assert _list(client) == []
    assert len(httpserver.log) == 3
    assert seen == [(1, 0.2, "ApiError"), (2, 0.4, "ApiError")]


def test_backoff_is_full_jitter_and_capped() -> None:
    import random

    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, rng=random.Random(7))
    for attempt in range(10):
        cap = min(3.0, 0.5 * 2**attempt)
        draws = [policy.backoff(attempt) for _ in range(200)]
        assert all(0.0 <= d <= cap for d in draws)
        assert min(draws) < cap * 0.2 and max(draws) > cap * 0.8  # uniform over [0, cap], not a fixed delay
    assert RetryPolicy(max_delay=3.0, rng=MaxJitter()).backoff(30) == 3.0


# -- deadlines -------------------------------------------------------------------------------------------------------


def test_deadline_shorter_than_backoff_stops_early(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], sleeps: Sleeps
) -> None:
    httpserver.expect_request(PATH).respond_with_data("", status=503)
    clock = FakeClock()
    client = make_client(max_attempts=10, base_delay=2.0, deadline=Deadline(1.0, clock=clock))
    with pytest.raises(ApiError) as info:
        _list(client)
    assert info.value.status == 503
    assert len(httpserver.log) == 1
    assert sleeps == []


def test_deadline_bounds_the_number_of_attempts(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    httpserver.expect_request(PATH).respond_with_data("", status=500)
    clock = FakeClock()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    client = make_client(max_attempts=10, base_delay=1.0, max_delay=60.0, deadline=Deadline(5.0, clock=clock))
    client.policy.sleep = sleep
    with pytest.raises(ApiError):
        _list(client)
    # 5 s budget: attempt, sleep 1, attempt, sleep 2, attempt; a 4 s backoff would not fit in the 2 s left.
    assert slept == [1.0, 2.0]
    assert len(httpserver.log) == 3


def test_expired_deadline_sends_nothing(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    client = make_client(deadline=Deadline.from_remaining_ms(400, margin_ms=500))
    with pytest.raises(DeadlineExceeded):
        _list(client)
    assert httpserver.log == []


def test_deadline_from_remaining_ms() -> None:
    clock = FakeClock()
    assert Deadline(None).remaining() == float("inf")
    d = Deadline(3.0, clock=clock)
    clock.now += 1.0
    assert d.remaining() == 2.0 and not d.expired
    clock.now += 5.0
    assert d.remaining() == 0.0 and d.expired
    assert Deadline.from_remaining_ms(None).remaining() == float("inf")
    assert 0 < Deadline.from_remaining_ms(3000, margin_ms=500).remaining() <= 2.5
    assert Deadline.from_remaining_ms(100, margin_ms=500).expired


def test_attempt_timeout_is_bounded_by_the_deadline() -> None:
    clock = FakeClock()
    timeouts: list[float] = []

    class Recorder:
        def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
            timeouts.append(timeout)
            return HttpResponse(200, {}, b"[]")

    build = lambda: HttpRequest("GET", "http://x/", "/")  # noqa: E731
    call_with_retries(Recorder(), build, RetryPolicy(timeout=10.0), Deadline(3.0, clock=clock))
    call_with_retries(Recorder(), build, RetryPolicy(timeout=10.0), Deadline(30.0, clock=clock))
    assert timeouts == [3.0, 10.0]


# -- Retry-After -----------------------------------------------------------------------------------------------------


def test_429_honours_numeric_retry_after(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], sleeps: Sleeps
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data("", status=429, headers={"Retry-After": "3"})
    httpserver.expect_request(PATH).respond_with_json([])
    _list(make_client(max_delay=5.0))
    assert sleeps == [3.0]
    assert len(httpserver.log) == 2


def test_429_honours_http_date_retry_after(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], sleeps: Sleeps
) -> None:
    t0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    when = format_datetime(t0 + timedelta(seconds=7), usegmt=True)
    assert when == "Fri, 01 Mar 2024 12:00:07 GMT"
    httpserver.expect_oneshot_request(PATH).respond_with_data("", status=429, headers={"Retry-After": when})
    httpserver.expect_request(PATH).respond_with_json([])
    with freeze_time(t0):
        _list(make_client())
    assert sleeps == [7.0]


def test_retry_after_longer_than_the_deadline_stops(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], sleeps: Sleeps
) -> None:
    httpserver.expect_request(PATH).respond_with_data("", status=429, headers={"Retry-After": "20"})
    client = make_client(deadline=Deadline(10.0, clock=FakeClock()), max_delay=60.0)
    with pytest.raises(ApiError) as info:
        _list(client)
    assert info.value.status == 429
    assert sleeps == [] and len(httpserver.log) == 1


def test_retry_after_is_capped(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], sleeps: Sleeps
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data(
        "", status=429, headers={"Retry-After": "86400"}
    )
    httpserver.expect_request(PATH).respond_with_json([])
    _list(make_client(max_delay=5.0))
    assert sleeps == [30.0]  # 6 x max_delay, never a day


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        (" 12 ", 12.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("Fri, 01 Mar 2024 11:59:00 GMT", 0.0),
    ],
)
def test_retry_after_parsing(value: str | None, expected: float | None) -> None:
    with freeze_time("2024-03-01T12:00:00Z"):
        assert retry_after_seconds(value) == expected


def test_retry_after_minus_zero_zone_is_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    # email.utils writes "-0000" and parses it as a naive datetime: it must be read as UTC (real clock here,
    # freezegun would hide the local-time conversion).
    import time
    from email.utils import formatdate

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        value = formatdate(time.time() + 60)
        assert value.endswith("-0000")
        wait = retry_after_seconds(value)
        assert wait is not None and 55 < wait <= 60
    finally:
        monkeypatch.undo()
        time.tzset()


# -- not retried -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (
            400,
            [{"errorCode": "SVCSTG.SWR.4000014", "errorMessage": "invalid parameter"}],
            ApiError,
            "SVCSTG.SWR.4000014",
        ),
        (
            403,
            {"error_code": "APIG.0302", "error_msg": "forbidden", "request_id": "x"},
            AuthError,
            "APIG.0302",
        ),
        (
            404,
            [{"errorCode": "SVCSTG.SWR.4040010", "errorMessage": "image does not exist"}],
            NotFound,
            "SVCSTG.SWR.4040010",
        ),
        (
            409,
            [{"errorCode": "SVCSTG.SWR.4090006", "errorMessage": "image already exists"}],
            ApiError,
            "SVCSTG.SWR.4090006",
        ),
        (409, "", ApiError, ""),
        (
            413,
            [{"errorCode": "SVCSTG.SWR.4130025", "errorMessage": "too large"}],
            ApiError,
            "SVCSTG.SWR.4130025",
        ),
        (302, "", ApiError, ""),  # a redirect is never followed and never a success
    ],
)
def test_other_errors_are_not_retried(
    httpserver: HTTPServer,
    make_client: Callable[..., SwrClient],
    sleeps: Sleeps,
    status: int,
    body: object,
    cls: type[ApiError],
    code: str,
) -> None:
    payload = body if isinstance(body, str) else json.dumps(body)
    headers = {"Location": "http://elsewhere.invalid/"} if status == 302 else {}
    httpserver.expect_request(PATH).respond_with_data(payload, status=status, headers=headers)
    client = make_client()
    with pytest.raises(cls) as info:
        _list(client)
    assert type(info.value) is cls
    assert info.value.status == status and info.value.code == code and not info.value.retryable
    assert len(httpserver.log) == 1 and sleeps == []
    assert (client.stats.requests, client.stats.retries, client.stats.failures) == (1, 0, 1)


def test_401_with_static_token_is_not_retried(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    httpserver.expect_request(PATH).respond_with_json([{"errorCode": "SVCSTG.SWR.4010000"}], status=401)
    with pytest.raises(AuthError):
        _list(make_client(auth=TokenAuth("static-token-abcdef")))
    assert len(httpserver.log) == 1


def test_error_carries_status_code_message_request_id(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        [{"errorCode": "SVCSTG.SWR.4040010", "errorMessage": "Repository not found", "detail": "ns1/app"}],
        status=404,
        headers={"X-Request-Id": "0b1e7f2c"},
    )
    with pytest.raises(NotFound) as info:
        _list(make_client())
    err = info.value
    assert (err.status, err.code, err.message, err.request_id) == (
        404,
        "SVCSTG.SWR.4040010",
        "Repository not found: ns1/app",
        "0b1e7f2c",
    )
    assert (err.method, err.path) == ("GET", PATH)
    assert str(err) == (
        f"GET {PATH} -> HTTP 404 SVCSTG.SWR.4040010: Repository not found: ns1/app (request id 0b1e7f2c)"
    )
    assert err.to_dict() == {
        "status": 404,
        "code": "SVCSTG.SWR.4040010",
        "message": "Repository not found: ns1/app",
        "request_id": "0b1e7f2c",
        "retryable": False,
    }


# -- error body shapes -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "message", "request_id"),
    [
        (
            b'[{"errorCode":"SVCSTG.SWR.4001048","errorMessage":"Failed to get Token from Context","detail":""}]',
            "SVCSTG.SWR.4001048",
            "Failed to get Token from Context",
            "",
        ),
        (
            b'{"errorCode":"SVCSTG.SWR.4090023","errorMessage":"busy","detail":"retry later"}',
            "SVCSTG.SWR.4090023",
            "busy: retry later",
            "",
        ),
        (
            b'{"error_code":"APIG.0303","error_msg":"Incorrect app authentication information","request_id":"r-1"}',
            "APIG.0303",
            "Incorrect app authentication information",
            "r-1",
        ),
        (
            b'{"error":{"code":401,"message":"The username or password is wrong.","title":"Unauthorized"}}',
            "401",
            "The username or password is wrong.",
            "",
        ),
        (b'{"error":{"code":400,"title":"Bad Request"}}', "400", "Bad Request", ""),
        (b'{"errorCode":"X","errorMsg":"camel"}', "X", "camel", ""),
        (b'{"code":"C","message":"plain"}', "C", "plain", ""),
        (b'{"error":"just text"}', "", "just text", ""),
        (b"<html>Bad Gateway</html>", "", "<html>Bad Gateway</html>", ""),
        (b"", "", "", ""),
        (b"[]", "", "[]", ""),
        (b'["v1"]', "", '["v1"]', ""),
        (b"\xff\xfe", "", "\ufffd\ufffd", ""),
    ],
)
def test_error_shapes(body: bytes, code: str, message: str, request_id: str) -> None:
    info = parse_error_body(body)
    assert (info.code, info.message, info.request_id) == (code, message, request_id)


def test_error_from_response_prefers_the_header_request_id_and_falls_back_to_the_reason() -> None:
    resp = HttpResponse(
        502, {"x-request-id": "hdr"}, b'{"error_code":"APIG.1","error_msg":"m","request_id":"body"}'
    )
    assert error_from_response("GET", "/p", resp).request_id == "hdr"
    resp = HttpResponse(503, {}, b"")
    err = error_from_response("GET", "/p", resp)
    assert err.message == "Service Unavailable" and err.retryable
    long = error_from_response(
        "GET", "/p", HttpResponse(500, {}, json.dumps({"message": "x" * 5000}).encode())
    )
    assert len(long.message) == 500


# -- transport failures ----------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _raw_server(mode: str) -> Iterator[tuple[int, list[int]]]:
    """A loopback server that resets ("reset") or never answers ("hang"); yields (port, accepted count)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    accepted = [0]
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted[0] += 1
            if mode == "reset":
                with contextlib.suppress(OSError):
                    conn.settimeout(1.0)
                    conn.recv(65536)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def _raw_client(port: int, sleeps: Sleeps, attempts: int = 3, timeout: float = 2.0) -> SwrClient:
    return SwrClient(
        endpoint=f"http://127.0.0.1:{port}",
        auth=TokenAuth("tok-raw-123456"),
        policy=RetryPolicy(max_attempts=attempts, timeout=timeout, sleep=sleeps, rng=MaxJitter()),
    )


def test_connection_refused_is_a_transport_error_after_retries(sleeps: Sleeps) -> None:
    client = _raw_client(_free_port(), sleeps)
    with pytest.raises(TransportError, match="connection failed") as info:
        _list(client)
    assert info.value.retryable
    assert client.stats.requests == 3 and len(sleeps) == 2


def test_connection_reset_is_a_transport_error_after_retries(sleeps: Sleeps) -> None:
    with _raw_server("reset") as (port, accepted):
        client = _raw_client(port, sleeps)
        with pytest.raises(TransportError):
            _list(client)
    assert client.stats.requests == 3
    assert accepted[0] == 3


def test_timeout_is_a_transport_error_after_retries(sleeps: Sleeps) -> None:
    with _raw_server("hang") as (port, accepted):
        client = _raw_client(port, sleeps, attempts=3, timeout=0.05)
        with pytest.raises(TransportError, match="timed out"):
            _list(client)
    assert client.stats.requests == 3
    assert accepted[0] == 3


def test_transport_error_then_success(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    httpserver.expect_request(PATH).respond_with_json([])
    calls = []

    class Flaky:
        def __init__(self) -> None:
            from shared.swr.http import UrllibTransport

            self.real = UrllibTransport()

        def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
            calls.append(request.url)
            if len(calls) == 1:
                raise TransportError("connection failed: ConnectionResetError", request.method, request.path)
            return self.real.send(request, timeout)

    client = SwrClient(
        httpserver.url_for("/"),
        TokenAuth("tok-flaky-1234"),
        transport=Flaky(),
        policy=RetryPolicy(sleep=sleeps, rng=MaxJitter()),
    )
    assert _list(client) == []
    assert len(calls) == 2 and len(httpserver.log) == 1


def test_call_stats_shared_object() -> None:
    stats = CallStats()

    class Always500:
        def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
            return HttpResponse(500, {}, b"")

    with pytest.raises(ApiError):
        call_with_retries(
            Always500(),
            lambda: HttpRequest("GET", "http://x/", "/"),
            RetryPolicy(max_attempts=2, sleep=lambda s: None),
            Deadline(None),
            stats=stats,
        )
    assert (stats.requests, stats.retries, stats.failures) == (2, 1, 1)


def test_call_stats_count_exactly_across_threads_and_give_deltas() -> None:
    """Functions share one client between worker threads: no count may be lost, and a report can take the
    counts of its own part of the run."""
    import threading

    from shared.swr.http import CallStats

    stats = CallStats(requests=5)
    before = stats.snapshot()
    threads = [
        threading.Thread(target=lambda: [stats.add("requests") for _ in range(2000)]) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats.add("retries")
    delta = stats.since(before)
    assert stats.requests == 5 + 8 * 2000
    assert (delta.requests, delta.retries, delta.failures) == (8 * 2000, 1, 0)
    assert before.requests == 5  # a snapshot does not move with the live counters
