"""Authenticate webhook deliveries (HTTP triggers only).

Accepted, with ``WEBHOOK_SECRET`` = ``s``:

- ``Authorization: s`` (Harbor and SWR EE send their configured auth header verbatim), or
  ``Authorization: Bearer s`` (Distribution ``headers``, scripts);
- an HMAC-SHA256 of the raw body, hex, in ``WEBHOOK_SIGNATURE_HEADER`` (default ``X-Signature-256``), with an
  optional ``sha256=`` prefix (GitHub style).

Comparisons are constant-time. A request carrying the Authorization (or signature) header more than once is
refused: which copy a proxy honours differs, so accepting either would be ambiguous.
"""

from __future__ import annotations

import hashlib
import hmac

from shared.runtime.credentials import repeated, same_secret
from shared.runtime.model import Request


def signature(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 a sender puts in the signature header."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def authenticate(request: Request, secret: str, signature_header: str = "X-Signature-256") -> bool:
    """True if the request proves knowledge of ``secret``; never raises."""
    if not secret:
        return False
    auth_name, sig_name = "authorization", signature_header.lower()
    if repeated(request, auth_name, sig_name):
        return False
    ok = False
    value = request.header(auth_name)
    if value is not None:
        value = value.strip()
        scheme, _, rest = value.partition(" ")
        candidate = rest.strip() if scheme.lower() == "bearer" else value
        # Evaluate both comparisons: no early exit that would time which form was tried.
        ok = same_secret(value, secret) | same_secret(candidate, secret)
    sent = request.header(sig_name)
    if sent is not None:
        sent = sent.strip()
        if sent[:7].lower() == "sha256=":
            sent = sent[7:]
        ok = same_secret(sent.lower(), signature(secret, request.body)) | ok
    return ok
