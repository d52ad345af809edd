"""Fault injection: make matching API requests fail, stall or drop the connection.

A fault matches on the method (optional, case-insensitive) and a regular expression searched in the raw path
*with* its query string, exactly as received. It fires ``times`` times (default 1; ``None`` or 0 = forever).
Admin requests (``/_emulator/...``) are never faulted, so a test can always clean up.

Without ``status`` or ``reset`` the request is served normally (after ``delay``); ``headers`` are then merged
into the real answer and ``body``, when given, replaces its body. That simulates a server that did the work
but answered badly: a wrong ``Content-Range`` on a real page, a garbled body after a job was created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class FaultError(ValueError):
    """A fault definition is invalid."""


@dataclass
class Fault:
    path: str
    pattern: re.Pattern[str]
    method: str | None = None
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False
    remaining: int | None = 1  # None = forever
    times: int | None = 1
    hits: int = 0
    id: int = 0

    @classmethod
    def build(
        cls,
        path: str,
        method: str | None = None,
        status: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay: float | None = None,
        reset: bool = False,
        times: int | None = 1,
    ) -> Fault:
        if not isinstance(path, str) or not path:
            raise FaultError("path (a regular expression) is required")
        try:
            pattern = re.compile(path)
        except re.error as err:
            raise FaultError(f"path is not a valid regular expression: {err}") from err
        if method is not None and not isinstance(method, str):
            raise FaultError("method must be a string")
        if status is not None and (
            not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599
        ):
            raise FaultError("status must be an HTTP status code")
        if headers is not None and not (
            isinstance(headers, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
        ):
            raise FaultError("headers must be an object of strings")
        if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0):
            raise FaultError("delay must be a non-negative number of seconds")
        if not isinstance(reset, bool):
            raise FaultError("reset must be a boolean")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
            raise FaultError("times must be a non-negative integer or null")
        if status is None and not reset and not delay and not headers and body is None:
            raise FaultError("a fault needs at least one of status, delay, reset, headers or body")
        remaining = times if times else None
        return cls(
            path=path,
            pattern=pattern,
            method=method.upper() if method else None,
            status=status,
            body=body,
            headers=dict(headers or {}),
            delay=float(delay or 0.0),
            reset=reset,
            remaining=remaining,
            times=remaining,
        )

    @property
    def rewrites(self) -> bool:
        """A served-normally fault that changes the real answer's headers or body."""
        return self.status is None and not self.reset and (bool(self.headers) or self.body is not None)

    def matches(self, method: str, raw_path: str) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        return self.pattern.search(raw_path) is not None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "body": self.body,
            "headers": self.headers,
            "delay": self.delay,
            "reset": self.reset,
            "times": self.times,
            "remaining": self.remaining,
            "hits": self.hits,
        }
