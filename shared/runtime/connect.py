"""Build an authenticated, deadline-bound SwrClient from settings and the current invocation."""

from __future__ import annotations

from typing import Any

from shared.runtime.config import SwrSettings
from shared.swr.auth import AgencyAuth, AkSkAuth, Auth, IamPasswordAuth, TokenAuth
from shared.swr.client import SwrClient
from shared.swr.errors import ConfigError
from shared.swr.http import Deadline, RetryPolicy, Transport, UrllibTransport

_TRANSPORT = UrllibTransport()


def choose_auth(settings: SwrSettings, context: Any = None, transport: Transport | None = None) -> Auth:
    """Explicit SWR_AUTH_MODE wins; ``auto`` prefers token, then AK/SK, then IAM password, then the agency."""
    mode = settings.auth_mode
    if mode == "token" or (mode == "auto" and settings.auth_token):
        if not settings.auth_token:
            raise ConfigError(["SWR_AUTH_TOKEN: required when SWR_AUTH_MODE=token"])
        return TokenAuth(settings.auth_token)
    if mode == "aksk" or (mode == "auto" and settings.ak and settings.sk):
        if not (settings.ak and settings.sk):
            raise ConfigError(["CLOUD_SDK_AK/CLOUD_SDK_SK: both required when SWR_AUTH_MODE=aksk"])
        return AkSkAuth(settings.ak, settings.sk, settings.security_token, settings.project_id)
    if mode == "password" or (mode == "auto" and settings.iam_username):
        if not (settings.iam_username and settings.iam_password and settings.iam_domain):
            raise ConfigError(
                ["IAM_USERNAME, IAM_PASSWORD, IAM_DOMAIN: required for IAM password authentication"]
            )
        return IamPasswordAuth(
            settings.iam(),
            settings.iam_username,
            settings.iam_password,
            settings.iam_domain,
            settings.iam_project or settings.swr_region or "",
            transport or _TRANSPORT,
            policy(settings),
        )
    if mode in ("agency", "auto") and AgencyAuth.available(context):
        return AgencyAuth(context, settings.project_id)
    if mode == "agency":
        raise ConfigError(
            [
                "SWR_AUTH_MODE=agency: the invocation context has no agency credentials (getToken/getSecurityAccessKey)"
            ]
        )
    raise ConfigError(
        [
            "no SWR credentials: set SWR_AUTH_TOKEN, CLOUD_SDK_AK/CLOUD_SDK_SK, IAM_USERNAME/IAM_PASSWORD/IAM_DOMAIN, "
            "or give the FunctionGraph function an agency"
        ]
    )


def policy(settings: SwrSettings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.http_max_attempts,
        base_delay=settings.http_backoff_base,
        max_delay=settings.http_backoff_max,
        timeout=settings.http_timeout,
    )


def connect(
    settings: SwrSettings,
    remaining_ms: float | None = None,
    context: Any = None,
    endpoint: str | None = None,
    transport: Transport | None = None,
) -> SwrClient:
    """A client for ``endpoint`` (default: the configured one) bounded by the invocation's remaining time."""
    return SwrClient(
        endpoint=endpoint or settings.endpoint(),
        auth=choose_auth(settings, context, transport),
        transport=transport or _TRANSPORT,
        policy=policy(settings),
        deadline=Deadline.from_remaining_ms(remaining_ms, settings.deadline_margin_ms),
    )
