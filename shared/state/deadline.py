"""Deadlines of store commands: each one ends by its own timeout and by the invocation's end, as a whole.

redis-py's ``socket_timeout`` applies to each ``recv``: a server that trickles a reply one byte at a time never
trips it. The Redis backend therefore wraps its sockets (:class:`DeadlineSocket`) and sets, before each read or
write, the time the current command has left (:data:`COMMAND_END`). A handler states the invocation's end once
with :func:`bounded_by`; no command, and no retry of one, outlives it.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from typing import Any

# The monotonic time by which the current command must be answered, and the invocation's own end.
COMMAND_END: contextvars.ContextVar[float | None] = contextvars.ContextVar("state_command_end", default=None)
_INVOCATION_END: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "state_invocation_end", default=None
)


@contextlib.contextmanager
def bounded_by(end: float | None) -> Iterator[None]:
    """Every store command inside the block ends by the monotonic time ``end`` (the invocation's deadline)."""
    reset = _INVOCATION_END.set(end)
    try:
        yield
    finally:
        _INVOCATION_END.reset(reset)


def within_invocation(seconds: float) -> bool:
    """Whether ``seconds`` from now is still before the invocation's end (always, outside :func:`bounded_by`)."""
    end = _INVOCATION_END.get()
    return end is None or time.monotonic() + seconds < end


@contextlib.contextmanager
def command(timeout: float) -> Iterator[None]:
    """One command: it must be answered within ``timeout`` and before the invocation's end."""
    end = time.monotonic() + timeout
    invocation_end = _INVOCATION_END.get()
    if invocation_end is not None:
        end = min(end, invocation_end)
    if end <= time.monotonic():
        raise TimeoutError("no time left for the store command")
    reset = COMMAND_END.set(end)
    try:
        yield
    finally:
        COMMAND_END.reset(reset)


class DeadlineSocket:
    """A socket whose reads and writes together end by the current command's end (:data:`COMMAND_END`)."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._timeout: float | None = sock.gettimeout()  # what redis-py asked for (0: a non-blocking poll)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def settimeout(self, value: float | None) -> None:
        self._timeout = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def _arm(self) -> None:
        end = COMMAND_END.get()
        if end is None:
            self._sock.settimeout(self._timeout)
            return
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the store command's deadline passed")
        self._sock.settimeout(remaining if self._timeout is None else min(self._timeout, remaining))

    def recv(self, *args: Any) -> Any:
        self._arm()
        return self._sock.recv(*args)

    def recv_into(self, *args: Any) -> Any:
        self._arm()
        return self._sock.recv_into(*args)

    def sendall(self, *args: Any) -> Any:
        self._arm()
        return self._sock.sendall(*args)
