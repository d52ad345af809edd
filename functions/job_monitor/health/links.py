"""Signed, expiring links to the health page: a browser cannot send a bearer header.

A link carries ``exp`` (Unix seconds) and ``sig`` = HMAC-SHA256 over ``health-page:{exp}`` with a key derived from
``HEALTH_LINK_SECRET`` (or, when unset, from ``MONITOR_TOKEN``: changing the token revokes every link). Filters
are not signed: a link grants reading the page, whichever filters. The signature is a secret of the same weight
as the token for its lifetime; it is registered for redaction wherever it is seen.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import urlencode

MAX_TTL = 7 * 86400
DEFAULT_TTL = 3600


class LinkError(ValueError):
    """Why a link is refused (the page shows the message)."""


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"swr-sync health-link v1\x00" + secret.encode("utf-8")).digest()


def signature(secret: str, exp: int) -> str:
    mac = hmac.new(_key(secret), f"health-page:{exp}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def issue(secret: str, ttl: int = DEFAULT_TTL, now: float | None = None) -> dict[str, str]:
    """The query values of a link valid for ``ttl`` seconds."""
    if not 1 <= ttl <= MAX_TTL:
        raise LinkError(f"a link lives 1 s to {MAX_TTL} s, not {ttl}")
    exp = int((time.time() if now is None else now) + ttl)
    return {"exp": str(exp), "sig": signature(secret, exp)}


def url(base: str, secret: str, ttl: int = DEFAULT_TTL, now: float | None = None) -> str:
    return f"{base}{'&' if '?' in base else '?'}{urlencode({'format': 'html', **issue(secret, ttl, now)})}"


def verify(secret: str, exp: str | None, sig: str | None, now: float | None = None) -> None:
    """Raises LinkError unless ``exp``/``sig`` are a valid, unexpired pair."""
    if not exp or not sig:
        raise LinkError("this address needs a signed link (or a bearer token)")
    if not exp.isdigit() or len(exp) > 12:
        raise LinkError("the link was altered")
    if not hmac.compare_digest(signature(secret, int(exp)).encode(), sig.encode("utf-8", "replace")):
        raise LinkError("the link was altered")
    if int(exp) < (time.time() if now is None else now):
        raise LinkError("the link has expired")
