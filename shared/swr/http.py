"""Stdlib-urllib HTTP with deadlines and retries (exponential backoff, full jitter).

Retried: connection errors and timeouts, 429 (Retry-After honoured), 5xx, and 409 ``SVCSTG.SWR.4090023``
("system resource busy"). Never retried: any other 4xx. Every wait and every attempt is bounded by the
:class:`Deadline`, which comes from the function's remaining time.

An attempt's timeout bounds the whole exchange (connect, headers and body), not each ``recv``: a server that
trickles one byte every few hundred milliseconds would otherwise never trip a per-read socket timeout. The
response is read through :class:`DeadlineReader`, which sets the socket's timeout to the time left before every
read and raises ``TimeoutError`` once none is left (a :class:`TransportError` for callers).
"""

from __future__ import annotations

import email.utils
import functools
import http.client
import io
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

from shared.record import field, record
from shared.swr import timeutil
from shared.swr.errors import ApiError, AuthError, ConfigError, DeadlineExceeded, NotFound, TransportError
from shared.swr.models import parse_error_body

BUSY_CODE = "SVCSTG.SWR.4090023"
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class Deadline:
    """Wall-clock budget of one invocation. ``remaining()`` is in seconds; never negative."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = None if seconds is None else clock() + max(0.0, seconds)

    @classmethod
    def from_remaining_ms(cls, remaining_ms: float | None, margin_ms: float = 500) -> Deadline:
        """The function's remaining time minus a margin kept for answering."""
        if remaining_ms is None:
            return cls(None)
        return cls(max(0.0, (remaining_ms - margin_ms) / 1000.0))

    def remaining(self) -> float:
        if self._end is None:
            return float("inf")
        return max(0.0, self._end - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


@record
class HttpRequest:
    """One HTTP request, as signed and sent."""

    method: str
    url: str
    path: str  # the raw, already-encoded path (what is signed)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@record
class HttpResponse:
    """One HTTP answer, any status."""

    status: int
    headers: dict[str, str]  # keys lower-cased
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Transport(Protocol):
    def send(self, request: HttpRequest, timeout: float) -> HttpResponse: ...


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would resend credentials to another host: never follow.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class DeadlineReader(io.RawIOBase):
    """A socket read so that all reads together end by the monotonic time ``end``.

    Before each read the socket's timeout is set to the time left, so the last read cannot overrun; with no time
    left, ``TimeoutError`` (the type a socket timeout has) is raised without reading.
    """

    def __init__(self, sock: socket.socket, end: float, holder: io.IOBase | None = None) -> None:
        super().__init__()
        self._sock = sock
        self._end = end
        # A socket's makefile() keeps its descriptor open after the connection drops its own reference (as
        # http.client does for "Connection: close"): the holder is closed with this reader, not before.
        self._holder = holder

    def close(self) -> None:
        if self._holder is not None:
            self._holder.close()
        super().close()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        remaining = self._end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the exchange's deadline passed while reading the answer")
        self._sock.settimeout(remaining if remaining != float("inf") else None)
        return self._sock.recv_into(buffer)


class _DeadlineResponse(http.client.HTTPResponse):
    """``HTTPResponse`` whose status line, headers and body are all read through one :class:`DeadlineReader`."""

    def __init__(self, sock: socket.socket, *args: object, end: float, **kwargs: object) -> None:
        super().__init__(sock, *args, **kwargs)  # type: ignore[arg-type]
        # Nothing was read through the plain makefile() reader yet; it only keeps the descriptor open.
        self.fp = io.BufferedReader(DeadlineReader(sock, end, holder=self.fp))


def _create_connection(address: tuple[Any, int], *args: Any, **kwargs: Any) -> socket.socket:
    """``socket.create_connection`` with an ASCII host name as bytes, resolved as is: no ``idna`` codec, whose first
    use imports ``encodings.idna``, ``stringprep``, ``unicodedata`` (~1 ms). A non-ASCII name keeps IDNA."""
    host, port = address
    if isinstance(host, str) and host.isascii():
        host = host.encode("ascii")
    return socket.create_connection((host, port), *args, **kwargs)


class _DeadlineOpen:
    """``do_open`` of the HTTP and HTTPS handlers: the connection's answer is bounded by ``req.timeout`` as a
    whole, counted from the moment the request is opened (connect and send keep the plain socket timeout,
    which is the same figure)."""

    def do_open(self, http_class, req, **http_conn_args):  # type: ignore[no-untyped-def]
        end = time.monotonic() + float(req.timeout)

        def connection(host, **kwargs):  # type: ignore[no-untyped-def]
            conn = http_class(host, **kwargs)
            conn.response_class = functools.partial(_DeadlineResponse, end=end)
            conn._create_connection = _create_connection
            return conn

        return super().do_open(connection, req, **http_conn_args)  # type: ignore[misc]


class _DeadlineHTTPHandler(_DeadlineOpen, urllib.request.HTTPHandler):
    pass


class _DeadlineHTTPSHandler(_DeadlineOpen, urllib.request.HTTPSHandler):
    """Set up (3.13: the default SSL context, so ``ssl``) at the first ``https`` request, not at construction."""

    def __init__(self) -> None:
        urllib.request.AbstractHTTPHandler.__init__(self)
        self._set_up = False

    def https_open(self, req):  # type: ignore[no-untyped-def]
        if not self._set_up:
            urllib.request.HTTPSHandler.__init__(self)
            self._set_up = True
        return super().https_open(req)


class ResponseTooLarge(TransportError):
    """The answer is larger than :data:`MAX_RESPONSE_BYTES` (it was not read further)."""


def read_bounded(fp: Any, method: str, path: str) -> bytes:
    """At most :data:`MAX_RESPONSE_BYTES` of the body; a longer one is refused, never silently cut."""
    body = fp.read(MAX_RESPONSE_BYTES + 1)
    if len(body) > MAX_RESPONSE_BYTES:
        raise ResponseTooLarge(f"answer larger than {MAX_RESPONSE_BYTES} bytes: not read", method, path)
    # http.client's read(amt) returns a short body when the connection dies before Content-Length: a cut
    # answer is not an answer.
    left = getattr(getattr(fp, "fp", None), "length", None) or getattr(fp, "length", None)
    if isinstance(left, int) and left > 0:
        raise TransportError(f"connection closed {left} bytes before the end of the answer", method, path)
    return body


class UrllibTransport:
    """One HTTP exchange with urllib; non-2xx answers are returned, not raised.

    ``timeout`` bounds the exchange as a whole (connect, headers and body): see :class:`DeadlineReader`.
    """

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(
            _DeadlineHTTPHandler(), _DeadlineHTTPSHandler(), _NoRedirect()
        )

    def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
        req = urllib.request.Request(
            request.url,
            data=request.body if request.method not in ("GET", "HEAD") or request.body else None,
            headers=request.headers,
            method=request.method,
        )
        try:
            try:
                with self._opener.open(req, timeout=timeout) as resp:
                    body = read_bounded(resp, request.method, request.path)
                    return HttpResponse(resp.status, _lower(resp.headers.items()), body)
            except urllib.error.HTTPError as err:
                # Reading the error body can time out or be reset too: that must be a TransportError as well.
                with err:
                    body = read_bounded(err, request.method, request.path) if err.fp is not None else b""
                return HttpResponse(err.code, _lower(err.headers.items() if err.headers else []), body)
        except TimeoutError as err:
            raise TransportError(f"timed out after {timeout:.1f}s", request.method, request.path) from err
        except urllib.error.URLError as err:
            raise TransportError(f"connection failed: {err.reason}", request.method, request.path) from err
        except (OSError, http.client.HTTPException) as err:
            raise TransportError(
                f"connection failed: {type(err).__name__}", request.method, request.path
            ) from err
        except ValueError as err:
            # http.client refuses a header value with a control character or beyond Latin-1, and its message
            # quotes the value: a credential. Name the header, never the value; resending cannot help.
            raise ConfigError([_unsendable_problem(request, err)]) from None


def _unsendable_problem(request: HttpRequest, err: ValueError) -> str:
    bad = sorted(name for name, value in request.headers.items() if not _valid_header_value(value))
    if not bad:
        return f"{request.method} {request.path}: the request is not valid HTTP ({type(err).__name__})"
    return (
        f"{request.method} {request.path}: {', '.join(bad)} holds a character HTTP headers cannot carry (a "
        "control character or non-Latin-1 text): check the configured credentials"
    )


def _valid_header_value(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return not any((ord(c) < 0x20 and c != "\t") or c == "\x7f" for c in value)


def _lower(items: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in items:  # type: ignore[attr-defined]
        out[k.lower()] = v
    return out


# One generator for the process: seeding a new one from os.urandom costs more than the rest of a policy.
_JITTER = random.Random()


@record
class RetryPolicy:
    """How calls are retried and bounded."""

    max_attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    timeout: float = 10.0  # per attempt
    rng: random.Random = field(default_factory=lambda: _JITTER)
    sleep: Callable[[float], None] = time.sleep

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform(0, min(cap, base * 2**attempt))."""
        return self.rng.uniform(0.0, min(self.max_delay, self.base_delay * (2**attempt)))


# A Retry-After further away than this is not honoured as given (the wait is capped by the policy anyway).
MAX_RETRY_AFTER = 86_400.0


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), within
    [0, :data:`MAX_RETRY_AFTER`]; None when absent or unreadable. Never raises, whatever the value."""
    if not value or len(value) > 64:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²": str.isdigit() accepts it, float() does not
        return min(float(value), MAX_RETRY_AFTER)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if parsed is None:
        return None
    # "-0000" parses naive: it is UTC, not the machine's local time (timeutil.to_utc reads it so).
    seconds = timeutil.to_utc(parsed).timestamp() - time.time()
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def error_from_response(method: str, path: str, resp: HttpResponse) -> ApiError:
    info = parse_error_body(resp.body)
    request_id = resp.header("x-request-id") or info.request_id
    retryable = resp.status == 429 or resp.status >= 500 or (resp.status == 409 and info.code == BUSY_CODE)
    cls: type[ApiError] = ApiError
    if resp.status in (401, 403):
        cls = AuthError
    elif resp.status == 404:
        cls = NotFound
    message = info.message or (http.client.responses.get(resp.status, "") if resp.status else "")
    return cls(resp.status, info.code, message, request_id or "", method, path, retryable)


@record
class CallStats:
    """Counts kept per client, for reports (monitor, export, benchmarks). Safe to share between threads."""

    requests: int = 0
    retries: int = 0
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def since(self, earlier: CallStats) -> CallStats:
        """The counts added after ``earlier`` (a :meth:`snapshot`) was taken."""
        with self._lock:
            return CallStats(
                self.requests - earlier.requests,
                self.retries - earlier.retries,
                self.failures - earlier.failures,
            )

    def snapshot(self) -> CallStats:
        with self._lock:
            return CallStats(self.requests, self.retries, self.failures)


def call_with_retries(
    transport: Transport,
    build: Callable[[], HttpRequest],
    policy: RetryPolicy,
    deadline: Deadline,
    on_unauthorized: Callable[[], bool] | None = None,
    stats: CallStats | None = None,
    on_retry: Callable[[int, float, BaseException], None] | None = None,
) -> HttpResponse:
    """Send ``build()`` until a non-retryable answer, the attempt bound, or the deadline.

    ``build`` is called per attempt so signatures and tokens are fresh. ``on_unauthorized`` gets one chance
    to refresh credentials after a 401 (returns True if a retry may help).
    """
    stats = stats or CallStats()
    refreshed = False
    attempt = 0
    while True:
        remaining = deadline.remaining()
        if remaining <= 0.05:
            raise DeadlineExceeded("no time left for the request")
        request = build()
        stats.add("requests")
        error: ApiError | TransportError
        wait: float | None = None
        try:
            resp = transport.send(request, timeout=min(policy.timeout, remaining))
        except TransportError as err:
            error = err
        else:
            if 200 <= resp.status < 300:
                return resp  # only 2xx: a 3xx (never followed) is not a success
            api_error = error_from_response(request.method, request.path, resp)
            if resp.status == 401 and on_unauthorized is not None and not refreshed and on_unauthorized():
                refreshed = True
                continue
            if not api_error.retryable:
                stats.add("failures")
                raise api_error
            error = api_error
            if resp.status == 429:
                wait = retry_after_seconds(resp.header("retry-after"))
        attempt += 1
        if attempt >= policy.max_attempts:
            stats.add("failures")
            raise error
        delay = policy.backoff(attempt - 1) if wait is None else min(wait, policy.max_delay * 6)
        if delay >= deadline.remaining() - 0.05:
            stats.add("failures")
            raise error
        stats.add("retries")
        if on_retry is not None:
            on_retry(attempt, delay, error)
        policy.sleep(delay)
