"""Structured JSON logs (structlog), Powertools-style keys, secrets redacted.

Every line is one JSON object with ``timestamp``, ``level``, ``message``, ``function_name``, ``request_id``,
``cold_start``, ``correlation_id`` (bound per invocation with :func:`bind_invocation`) and the event's own keys.
Only production processors are used: no dev console renderer, no stdlib logging bridge.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from shared.logs import jsontext
from shared.logs.redact import mask_secret_keys, scrub

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
_configured: dict[str, Any] = {}


def _redact_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Mask by key here; secret values inside free text are scrubbed once on the rendered line (_dumps).
    return mask_secret_keys(dict(event_dict))  # type: ignore[no-any-return]


def _order_keys(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Stable, readable key order: the Powertools keys first, then the event's own.
    head = ("timestamp", "level", "message", "function_name", "request_id", "cold_start", "correlation_id")
    ordered = {k: event_dict.pop(k) for k in head if k in event_dict}
    ordered.update(event_dict)
    return ordered


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _dumps(obj: Any, **_: Any) -> str:
    return scrub(jsontext.dumps(obj, default=_text))


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """(Re)configure logging. Cheap; called at cold start and by tests that capture output.

    Without ``stream``, the stream given to an earlier call is kept (a level change must not silently move
    the output), else ``sys.stdout`` as it is when each logger is created.
    """
    numeric = LEVELS.get(level.lower(), 20)
    if stream is None:
        stream = _configured.get("stream")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            structlog.processors.format_exc_info,
            structlog.processors.EventRenamer("message"),
            _redact_processor,
            _order_keys,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    _configured["level"] = level
    _configured["stream"] = stream


def reset() -> None:
    """Back to the defaults (level INFO, ``sys.stdout``), e.g. after a test that captured the output."""
    _configured.clear()
    configure()


def get_logger(name: str = "swr-sync") -> Any:
    if not _configured:
        configure()
    return structlog.get_logger(name)


def bind_invocation(
    function_name: str, request_id: str, cold_start: bool, correlation_id: str, **extra: Any
) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        function_name=function_name,
        request_id=request_id,
        cold_start=cold_start,
        correlation_id=correlation_id,
        **extra,
    )


def clear_invocation() -> None:
    structlog.contextvars.clear_contextvars()
