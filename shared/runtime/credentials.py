"""Checking the credentials a caller presents (webhook secrets, bearer tokens), in constant time.

Header text can hold anything a JSON event can encode, lone surrogates included: every comparison here accepts
any ``str`` and never raises, so a hostile header is a 401, never a 500.
"""

from __future__ import annotations

import hashlib
import hmac

from shared.runtime.model import Request

# Shortest bearer token a function accepts in its configuration (EXPORT_TOKEN, MONITOR_TOKEN).
BEARER_TOKEN_MIN_LEN = 16


def same_secret(given: str, expected: str) -> bool:
    """Constant-time equality of two strings of any content and length (their SHA-256 digests are compared)."""
    return hmac.compare_digest(_digest(given), _digest(expected))


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def repeated(request: Request, *names: str) -> bool:
    """True if any of these headers came more than once: which copy a proxy honours differs, so refuse."""
    return any(request.header_counts.get(name.lower(), 0) > 1 for name in names)


def bearer_matches(request: Request, token: str) -> bool:
    """``Authorization: Bearer <token>``, sent once."""
    if repeated(request, "authorization"):
        return False
    scheme, _, presented = (request.header("authorization") or "").strip().partition(" ")
    return scheme.lower() == "bearer" and same_secret(presented.strip(), token)
