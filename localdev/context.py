"""Local stand-ins for the platform objects a handler receives (like ``sam local invoke``)."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Mapping
from typing import Any


class FunctionGraphContext:
    """The FunctionGraph Python ``context`` methods a handler may call; no agency credentials locally."""

    def __init__(self, function_name: str, timeout_s: float = 30.0, request_id: str | None = None) -> None:
        self._name = function_name
        self._deadline = time.monotonic() + timeout_s
        self._timeout = timeout_s
        self._request_id = request_id or uuid.uuid4().hex

    def getRequestID(self) -> str:  # platform API spelling
        return self._request_id

    def getRemainingTimeInMilliSeconds(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def getFunctionName(self) -> str:
        return self._name

    def getRunningTimeInSeconds(self) -> int:
        return int(self._timeout)

    def getUserData(self, key: str) -> str | None:
        return os.environ.get(key)

    def getLogger(self) -> Any:
        import logging

        return logging.getLogger(self._name)


class OpenFaaSEvent:
    """What the python3-http template passes as ``event``."""

    def __init__(
        self,
        body: bytes,
        headers: Mapping[str, str],
        method: str = "POST",
        query: Mapping[str, Any] | None = None,
        path: str = "/",
    ) -> None:
        self.body = body
        self.headers = dict(headers)
        self.method = method
        self.query = dict(query or {})
        self.path = path


class OpenFaaSContext:
    def __init__(self) -> None:
        self.hostname = os.getenv("HOSTNAME", "localhost")


def openfaas_event_from_spec(spec: Mapping[str, Any]) -> OpenFaaSEvent:
    """``{"method", "path", "headers", "query", "body"}`` → event; a non-string body is sent as JSON."""
    body = spec.get("body", b"")
    if isinstance(body, (dict, list)):
        raw = json.dumps(body).encode()
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = bytes(body or b"")
    return OpenFaaSEvent(
        raw,
        {str(k): str(v) for k, v in (spec.get("headers") or {}).items()},
        str(spec.get("method", "POST")).upper(),
        spec.get("query") or {},
        str(spec.get("path", "/")),
    )
