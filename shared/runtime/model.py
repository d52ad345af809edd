"""The neutral request/response/invocation model every function is written against."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from shared.logs import jsontext
from shared.logs.redact import scrub
from shared.record import field, record

Trigger = Literal["http", "timer", "event", "smn", "direct"]
Platform = Literal["functiongraph", "openfaas", "local"]


@record
class Request:
    """An HTTP request, or a non-HTTP trigger event presented as a POST with a JSON body."""

    method: str = "POST"
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-cased
    query: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    header_counts: dict[str, int] = field(default_factory=dict)  # how often a header name appeared
    body_error: str = (
        ""  # the transport could not decode the body (e.g. bad base64): answered 400 by FunctionApp
    )

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def query_one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def query_all(self, name: str) -> list[str]:
        out: list[str] = []
        for value in self.query.get(name, []):
            out.extend(v for v in value.split(",") if v)
        return out


@record
class Response:
    """A handler's answer, whatever the platform."""

    status: int = 200
    body: str | bytes = ""
    headers: dict[str, str] = field(default_factory=dict)
    data: Any = None  # the JSON value behind ``body``, when there is one (non-HTTP triggers return it)

    @classmethod
    def json(cls, status: int, data: Any, headers: Mapping[str, str] | None = None) -> Response:
        # Scrubbed as a whole: a second net behind the typed errors, for any text an answer quotes.
        body = scrub(jsontext.dumps(data, default=str))
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        return cls(status, body, hdrs, data)

    @classmethod
    def method_not_allowed(cls, allowed: str, message: str, correlation_id: str = "") -> Response:
        """405 with the ``Allow`` header RFC 9110 requires (``allowed``: e.g. ``"POST"``): the one way to refuse
        a method, so that no function forgets it."""
        response = cls.error(405, message, correlation_id)
        response.headers["Allow"] = allowed
        return response

    @classmethod
    def error(cls, status: int, message: str, correlation_id: str = "", **extra: Any) -> Response:
        data: dict[str, Any] = {"error": message}
        data.update(extra)
        if correlation_id:
            data["correlation_id"] = correlation_id
        return cls.json(status, data)


@record
class Invocation:
    """One invocation as the handlers see it, whatever the platform."""

    platform: Platform
    trigger: Trigger
    request: Request
    request_id: str
    function_name: str
    remaining_ms: Callable[[], float | None] = lambda: None
    context: Any = None  # the platform context (FunctionGraph: agency credentials live here)
    lookup: Callable[[str], str | None] = lambda _name: None  # extra config source (secrets, user data)
    correlation_id: str = ""
    cold_start: bool = False
    event: Any = None  # the raw platform event, for debugging
    started: float = field(default_factory=time.monotonic)
