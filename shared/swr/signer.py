"""Huawei Cloud SDK-HMAC-SHA256 request signing (AK/SK), stdlib only.

Equal to huaweicloudsdkcore/signer/signer.py (``Signer``, 3.1.219) on every request, checked against it in
``tests/foundation/test_signer_sdk.py`` on thousands of generated requests:

- every header present at signing time is signed, except names containing ``_`` (the SDK skips them);
- a ``Content-Type`` (the key spelled so, as the SDK looks it up) that starts with neither ``application/json``
  nor ``application/bson`` adds ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD``, which then stands for the body hash;
- header values are stripped; a non-ASCII value is signed as text (UTF-8 in the hash) and sent as its UTF-8
  bytes (the value becomes those bytes read as Latin-1, which is how ``http.client`` puts it on the wire);
- the canonical URI is the unquoted path re-quoted per segment with a trailing ``/``; the canonical query sorts
  keys, then values; the SK keys the HMAC directly.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
CONTENT_HEADER = "X-Sdk-Content-Sha256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_HASHED_TYPES = ("application/json", "application/bson")  # any other Content-Type: UNSIGNED-PAYLOAD


def sdk_date(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime(DATE_FORMAT)


def parse_sdk_date(value: str) -> datetime:
    return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=timezone.utc)


def canonical_uri(path: str) -> str:
    segments = [quote(seg, safe="~") for seg in unquote(path).split("/")]
    uri = "/".join(segments)
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(params: Mapping[str, str | list[str]] | None) -> str:
    if not params:
        return ""
    parts: list[str] = []
    for key in sorted(params):
        value = params[key]
        values = sorted(value) if isinstance(value, list) else [value]
        for v in values:
            text = str(v).lower() if isinstance(v, bool) else str(v)
            parts.append(f"{quote(key, safe='~')}={quote(text, safe='~')}")
    return "&".join(parts)


def payload_hash(body: bytes, headers: Mapping[str, str]) -> str:
    if not body:
        return EMPTY_SHA256
    for name, value in headers.items():
        if name.lower() == "x-sdk-content-sha256":
            if value:  # the SDK takes the first such header, and only a non-empty value
                return value
            break
    return hashlib.sha256(body).hexdigest()


def signed_names(headers: Mapping[str, str]) -> list[str]:
    """The SignedHeaders list: every header name lower-cased and sorted, except names containing ``_``."""
    return sorted(name.lower() for name in headers if "_" not in name)


def canonical_request(
    method: str,
    path: str,
    query: Mapping[str, str | list[str]] | None,
    headers: Mapping[str, str],
    body: bytes,
) -> tuple[str, str]:
    """Return (canonical request, signed-headers list) exactly as the official signer builds them."""
    lowered = {k.lower(): str(v).strip() for k, v in headers.items()}  # the last of names equal but for case
    signed = signed_names(headers)
    canonical_headers = "\n".join(f"{name}:{lowered[name]}" for name in signed) + "\n"
    signed_headers = ";".join(signed)
    text = "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            canonical_headers,
            signed_headers,
            # The SDK reads the hash header after putting values in their sent form (stripped, UTF-8 as Latin-1).
            payload_hash(body, {k: to_wire(v) for k, v in headers.items()}),
        ]
    )
    return text, signed_headers


def signature(sk: str, date: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{date}\n{digest}"
    return hmac.new(sk.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def sign(
    ak: str,
    sk: str,
    method: str,
    path: str,
    query: Mapping[str, str | list[str]] | None,
    headers: dict[str, str],
    body: bytes = b"",
    now: datetime | None = None,
) -> dict[str, str]:
    """Add ``X-Sdk-Content-Sha256`` (non-JSON ``Content-Type``), ``X-Sdk-Date`` (if absent) and
    ``Authorization`` to ``headers``, put every value in the form it is sent in, and return them.

    ``headers`` must already hold ``Host`` with exactly the value that will be sent. The steps run in the SDK's
    order, so that the same headers give the same dict (names equal but for case included).
    """
    for name in [k for k in headers if k.lower() == "authorization"]:
        del headers[name]  # a re-sign (a retry) must never sign the previous attempt's signature
    content_type = headers.get("Content-Type")
    if content_type and not content_type.startswith(_HASHED_TYPES):
        headers[CONTENT_HEADER] = UNSIGNED_PAYLOAD
    if not any(k.lower() == "x-sdk-date" for k in headers):
        headers[DATE_HEADER] = sdk_date(now)
    date = next(v for k, v in headers.items() if k.lower() == "x-sdk-date")
    canonical, signed_headers = canonical_request(method, path, query, headers, body)
    for name, value in headers.items():  # sent as the SDK sends them: stripped, UTF-8 bytes on the wire
        headers[name] = to_wire(value)
    sig = signature(sk, date, canonical)
    headers["Authorization"] = f"{ALGORITHM} Access={ak}, SignedHeaders={signed_headers}, Signature={sig}"
    return headers


def to_wire(value: str) -> str:
    """A header value as sent: stripped, its UTF-8 bytes as a Latin-1 string (what ``http.client`` encodes)."""
    return str(value).strip().encode("utf-8", "surrogatepass").decode("latin-1")


def _from_wire(value: str) -> str:
    """A received header value (its bytes read as Latin-1, as ``http.client`` and WSGI do) as the text signed."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def parse_authorization(value: str) -> dict[str, str] | None:
    """Split ``SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...``; None if not that shape."""
    if not value.startswith(ALGORITHM + " "):
        return None
    fields: dict[str, str] = {}
    for part in value[len(ALGORITHM) + 1 :].split(","):
        key, sep, val = part.strip().partition("=")
        if not sep:
            return None
        fields[key] = val
    if not {"Access", "SignedHeaders", "Signature"} <= fields.keys():
        return None
    return fields


def verify(
    sk_for_ak: Mapping[str, str],
    method: str,
    path: str,
    query: Mapping[str, str | list[str]] | None,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    max_skew_seconds: int = 900,
) -> str | None:
    """Server side check, used by the emulator. Returns None when valid, else the reason."""
    lowered = {k.lower(): _from_wire(v) for k, v in headers.items()}
    auth = parse_authorization(lowered.get("authorization", ""))
    if auth is None:
        return "missing or malformed SDK-HMAC-SHA256 Authorization header"
    sk = sk_for_ak.get(auth["Access"])
    if sk is None:
        return "unknown access key"
    date = lowered.get("x-sdk-date")
    if not date:
        return "missing X-Sdk-Date"
    try:
        when = parse_sdk_date(date)
    except ValueError:
        return "malformed X-Sdk-Date"
    if now.tzinfo is None:  # a naive ``now`` is UTC (as X-Sdk-Date is), not a TypeError
        now = now.replace(tzinfo=timezone.utc)
    if abs((now - when).total_seconds()) > max_skew_seconds:
        return "signature expired (clock skew above 15 minutes)"
    names = [n for n in auth["SignedHeaders"].split(";") if n]
    if "host" not in names or "x-sdk-date" not in names:
        return "host and x-sdk-date must be signed"
    missing = [n for n in names if n not in lowered]
    if missing:
        return f"signed header missing from request: {missing[0]}"
    signed = {n: lowered[n] for n in names}
    canonical, _ = canonical_request(method, path, query, signed, body)
    expected = signature(sk, date, canonical)
    if not hmac.compare_digest(expected, auth["Signature"]):
        return "signature mismatch"
    return None
