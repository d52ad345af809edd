"""Typed errors. Messages never carry a credential: they are built from status, code and a scrubbed message."""

from __future__ import annotations

from shared.logs.redact import clip, scrub


class SwrSyncError(Exception):
    """Base of every error this library raises on purpose."""

    retryable: bool = False


class ConfigError(SwrSyncError):
    """The configuration is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration: " + "; ".join(problems))


class ApiError(SwrSyncError):
    """SWR, IAM or the API gateway answered with an error status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str = "",
        method: str = "",
        path: str = "",
        retryable: bool = False,
    ) -> None:
        self.status = status
        # All three come from the server's answer, which may echo what we sent.
        self.code = clip(code, 100)
        self.message = clip(message, 500)
        self.request_id = clip(request_id, 100)
        self.method = method
        self.path = path
        self.retryable = retryable
        text = f"{method} {path} -> HTTP {status}".strip()
        if self.code:
            text += f" {self.code}"
        if self.message:
            text += f": {self.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        super().__init__(text)

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "request_id": self.request_id,
            "retryable": self.retryable,
        }


class AuthError(ApiError):
    """401/403, or credentials could not be obtained."""


class NotFound(ApiError):
    """404: unknown namespace, repository or job."""


class TransportError(SwrSyncError):
    """No usable HTTP answer: connection refused/reset, timeout, malformed response."""

    retryable = True

    def __init__(self, message: str, method: str = "", path: str = "") -> None:
        self.method = method
        self.path = path
        super().__init__(scrub(f"{method} {path}: {message}".strip(": ")))


class DeadlineExceeded(SwrSyncError):
    """The function's remaining time ran out before the call could complete."""

    retryable = True
