"""Request/response value types and the three documented error body shapes (SWR, API gateway, IAM)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

# SWR error codes used by the emulator (reference section 6.8).
INVALID_PARAM = "SVCSTG.SWR.4000014"
UNAUTHORIZED = "SVCSTG.SWR.4010000"
NAMESPACE_NOT_FOUND = "SVCSTG.SWR.4040003"
REPO_NOT_FOUND = "SVCSTG.SWR.4040004"
POLICY_NOT_FOUND = "SVCSTG.SWR.4040016"
CONFLICT = "SVCSTG.SWR.4090006"
INTERNAL = "SVCSTG.SWR.5000001"


@dataclass
class Request:
    method: str
    raw_path: str  # path exactly as received, without the query
    raw_query: str  # query exactly as received ("" if none)
    headers: dict[str, str]  # names as received
    body: bytes
    region: str = ""  # region addressed (prefix or default)
    path: str = ""  # raw path with the /regions/{r} prefix removed
    request_id: str = ""
    user: Any = None  # authenticated shared.User, set by the auth step

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers.items():
            if key.lower() == name:
                return value
        return None

    @property
    def target(self) -> str:
        return self.raw_path + ("?" + self.raw_query if self.raw_query else "")

    def query(self) -> dict[str, str]:
        """Decoded query; the last value wins for repeated keys."""
        return dict(parse_qsl(self.raw_query, keep_blank_values=True))

    def signing_query(self) -> dict[str, str | list[str]]:
        """Decoded query for signature checks (repeated keys become lists, as the SDK signer expects)."""
        return fold_repeats(parse_qsl(self.raw_query, keep_blank_values=True))

    def json(self) -> Any:
        """The body as JSON; raises :class:`Problem` (400, SWR shape) if it is not."""
        if not self.body.strip():
            raise Problem.swr(400, INVALID_PARAM, "request body is required")
        try:
            return json.loads(self.body)
        except ValueError as err:
            raise Problem.swr(400, INVALID_PARAM, "request body is not valid JSON") from err


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
        out = {"Content-Type": "application/json;charset=utf-8"}
        out.update(headers or {})
        return cls(status, json.dumps(data).encode(), out)

    @classmethod
    def empty(cls, status: int = 200) -> Response:
        return cls(status, b"", {"Content-Type": "application/json;charset=utf-8"})


class Problem(Exception):
    """An error answer; raise it anywhere in a handler."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    @classmethod
    def swr(cls, status: int, code: str, message: str, detail: str = "") -> Problem:
        return cls(status, [{"errorCode": code, "errorMessage": message, "detail": detail}])

    @classmethod
    def apig(cls, status: int, code: str, message: str) -> Problem:
        # request_id is filled in by the server with the response's X-Request-Id.
        return cls(status, {"error_code": code, "error_msg": message, "request_id": ""})

    @classmethod
    def iam(cls, status: int, message: str, title: str) -> Problem:
        return cls(status, {"error": {"code": status, "message": message, "title": title}})

    def response(self, request_id: str) -> Response:
        body = self.body
        if isinstance(body, dict) and "request_id" in body and not body["request_id"]:
            body = {**body, "request_id": request_id}
        return Response.json(self.status, body, self.headers)


def default_error_body(status: int) -> Any:
    """The SWR-shaped body a fault without a body answers with."""
    code = f"SVCSTG.SWR.{status}0000" if status >= 400 else ""
    messages = {
        400: "Invalid parameter",
        401: "Authenticate Error",
        403: "Forbidden",
        404: "Not found",
        409: "System resource busy",
        429: "Too many requests",
        500: "Internal error",
        502: "Bad gateway",
        503: "Service unavailable",
        504: "Gateway timeout",
    }
    if status == 409:
        code = "SVCSTG.SWR.4090023"
    return [{"errorCode": code, "errorMessage": messages.get(status, "Injected fault"), "detail": ""}]


def fold_repeats(pairs: Iterable[tuple[str, str]]) -> dict[str, str | list[str]]:
    """``[(k, v), ...]`` → a dict in which a repeated key holds the list of its values, in order."""
    out: dict[str, str | list[str]] = {}
    for key, value in pairs:
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out
