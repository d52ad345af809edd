"""Authentication to SWR: one interface, four providers, chosen by configuration.

- :class:`TokenAuth`: a static IAM token (``SWR_AUTH_TOKEN``) as ``X-Auth-Token``.
- :class:`AgencyAuth`: FunctionGraph agency credentials from the invocation context (``getToken()``, or the
  temporary ``getSecurityAccessKey/SecretKey/Token`` trio used to sign).
- :class:`IamPasswordAuth`: IAM user password → project-scoped token, cached across warm invocations until
  ``expires_at`` minus a margin; refreshed once on a 401.
- :class:`AkSkAuth`: SDK-HMAC-SHA256 request signing (``CLOUD_SDK_AK``/``CLOUD_SDK_SK``, optional security token).
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol
from urllib.parse import urlsplit

from shared.logs.redact import register_secret
from shared.record import record
from shared.swr import signer, timeutil, wirejson
from shared.swr.errors import AuthError
from shared.swr.http import Deadline, HttpRequest, RetryPolicy, Transport, call_with_retries


class Auth(Protocol):
    name: str

    def apply(self, request: HttpRequest, deadline: Deadline) -> None:
        """Add credentials to ``request`` (its Host and body are final)."""

    def refresh(self) -> bool:
        """Forget cached credentials after a 401; True if trying again may succeed."""


class TokenAuth:
    name = "token"

    def __init__(self, token: str) -> None:
        register_secret(token)
        self._token = token

    def apply(self, request: HttpRequest, deadline: Deadline) -> None:
        request.headers["X-Auth-Token"] = self._token

    def refresh(self) -> bool:
        return False


class AkSkAuth:
    name = "aksk"

    def __init__(
        self, ak: str, sk: str, security_token: str | None = None, project_id: str | None = None
    ) -> None:
        for value in (ak, sk, security_token):
            register_secret(value)
        self._ak, self._sk = ak, sk
        self._security_token = security_token
        self._project_id = project_id

    def apply(self, request: HttpRequest, deadline: Deadline) -> None:
        headers = request.headers
        headers.setdefault("Host", urlsplit(request.url).netloc)
        if self._project_id:
            headers["X-Project-Id"] = self._project_id
        if self._security_token:
            headers["X-Security-Token"] = self._security_token
        headers.pop("X-Sdk-Date", None)  # fresh date per attempt
        signer.sign(self._ak, self._sk, request.method, request.path, request.query, headers, request.body)

    def refresh(self) -> bool:
        return False


class AgencyAuth:
    """Credentials of the function's agency, read from the FunctionGraph context on every invocation."""

    name = "agency"

    def __init__(self, context: Any, project_id: str | None = None) -> None:
        self._context = context
        self._project_id = project_id

    @staticmethod
    def available(context: Any) -> bool:
        return context is not None and (
            callable(getattr(context, "getToken", None))
            or callable(getattr(context, "getSecurityAccessKey", None))
        )

    def _get(self, method: str) -> str:
        fn = getattr(self._context, method, None)
        value = fn() if callable(fn) else None
        return value if isinstance(value, str) else ""

    def apply(self, request: HttpRequest, deadline: Deadline) -> None:
        token = self._get("getToken")
        if token:
            register_secret(token)
            request.headers["X-Auth-Token"] = token
            return
        ak, sk = self._get("getSecurityAccessKey"), self._get("getSecuritySecretKey")
        if not (ak and sk):
            raise AuthError(0, "", "the function has no agency credentials (configure an agency)")
        AkSkAuth(ak, sk, self._get("getSecurityToken") or None, self._project_id).apply(request, deadline)

    def refresh(self) -> bool:
        return False


@record
class _CachedToken:
    """An IAM token and when it expires."""

    token: str
    expires_at: datetime


# Survives warm invocations: the module stays imported between them.
_TOKEN_CACHE: dict[tuple[str, str, str, str], _CachedToken] = {}
_TOKEN_LOCK = threading.Lock()


def clear_token_cache() -> None:
    with _TOKEN_LOCK:
        _TOKEN_CACHE.clear()


class IamPasswordAuth:
    name = "password"

    def __init__(
        self,
        iam_endpoint: str,
        username: str,
        password: str,
        domain: str,
        project: str,
        transport: Transport,
        policy: RetryPolicy | None = None,
        refresh_margin: timedelta = timedelta(minutes=10),
    ) -> None:
        register_secret(password)
        self._endpoint = iam_endpoint.rstrip("/")
        self._username, self._password, self._domain, self._project = username, password, domain, project
        self._transport = transport
        self._policy = policy or RetryPolicy(max_attempts=3)
        self._margin = refresh_margin
        self._key = (self._endpoint, domain, username, project)
        self.token_requests = 0

    def _request(self) -> HttpRequest:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "domain": {"name": self._domain},
                            "name": self._username,
                            "password": self._password,
                        }
                    },
                },
                "scope": {"project": {"name": self._project}},
            }
        }
        path = "/v3/auth/tokens"
        return HttpRequest(
            "POST",
            f"{self._endpoint}{path}?nocatalog=true",
            path,
            {"nocatalog": "true"},
            {"Content-Type": "application/json;charset=utf8"},
            json.dumps(body).encode(),
        )

    def token(self, deadline: Deadline) -> str:
        now = datetime.now(timezone.utc)
        with _TOKEN_LOCK:
            cached = _TOKEN_CACHE.get(self._key)
            if cached and timeutil.add(now, self._margin) < cached.expires_at:
                return cached.token
            self.token_requests += 1
            resp = call_with_retries(self._transport, self._request, self._policy, deadline)
            token = resp.header("x-subject-token")
            if not token:
                raise AuthError(
                    resp.status, "", "IAM answered without X-Subject-Token", path="/v3/auth/tokens"
                )
            register_secret(token)
            expires_at = _expires_at(resp.body, now)
            if cacheable(expires_at, now, self._margin):
                _TOKEN_CACHE[self._key] = _CachedToken(token, expires_at)
            else:
                # An expiry in the past, inside the refresh margin, or further than IAM ever grants: the token
                # is used for this call and never cached (caching it could keep a dead token for years).
                _TOKEN_CACHE.pop(self._key, None)
            return token

    def apply(self, request: HttpRequest, deadline: Deadline) -> None:
        request.headers["X-Auth-Token"] = self.token(deadline)

    def refresh(self) -> bool:
        with _TOKEN_LOCK:
            _TOKEN_CACHE.pop(self._key, None)
        return True


# IAM grants tokens for 24 hours; an expiry further away than this is absurd (a clock or server bug).
MAX_TOKEN_LIFETIME = timedelta(hours=48)


def cacheable(expires_at: datetime | None, now: datetime, margin: timedelta) -> bool:
    """Whether a token expiring at ``expires_at`` may be cached: not already inside the refresh margin, and not
    absurdly far away."""
    if expires_at is None:
        return False
    return timeutil.add(now, margin) < expires_at <= timeutil.add(now, MAX_TOKEN_LIFETIME)


def _expires_at(body: bytes, now: datetime) -> datetime:
    """``token.expires_at`` as aware UTC (a zone-less value is UTC: IAM speaks UTC); 23 h from now if absent or
    unreadable. A readable but absurd value (past, or years away) is returned as is: :func:`cacheable` refuses
    to cache it."""
    try:
        parsed = timeutil.parse(wirejson.loads(body)["token"]["expires_at"])
    except (ValueError, KeyError, TypeError, IndexError):
        parsed = None
    return parsed if parsed is not None else timeutil.add(now, timedelta(hours=23))
