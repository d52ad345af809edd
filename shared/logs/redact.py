"""Secret hygiene: mask secrets by key name and by value, wherever they appear.

Two complementary nets:
- by key: any mapping key that names a credential (token, password, secret, AK/SK, auth headers) is masked;
- by value: every secret the process loads is registered here, and any string containing it is scrubbed,
  so a secret echoed back inside a server error message (APIG echoes canonical requests) is masked too.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from shared.lazyre import lazy

MASK = "***"
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words

_SECRET_KEY = re.compile(
    r"(^|[-_ ])(pass(word)?|passwd|secret|token|sk|ak|access[-_]?key|secret[-_]?key|authorization|"
    r"x-auth-token|x-subject-token|x-security-token|credential|api[-_]?key|private[-_]?key|cookie|signature|sig)"
    r"s?($|[-_ ])",
    re.IGNORECASE,
)
# camelCase keys (``authToken``, ``securityToken``, ``clientSecret``) are split into words first.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Metadata about a secret is not the secret: ``token_expires_at``, ``token_requests``, ``auth_mode``...
_METADATA_SUFFIX = lazy(
    r"[-_ ](at|count|requests|type|mode|ttl|expires|expiry|source|present|configured|length|len)$",
    re.IGNORECASE,
)
_AUTH_HEADER_VALUE = lazy(r"(SDK-HMAC-SHA256\s+Access=)[^,\s]+(.*?Signature=)[0-9a-fA-F]+")
_BEARER = lazy(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_LINK_SIGNATURE = lazy(r"([?&;]sig=)[^&#\s\"']+")  # a signed health-page link carried as a URL

_secrets: set[str] = set()
_forms: tuple[str, ...] = ()  # every registered secret in each form it can take in text, longest first
_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Remember a secret value so that :func:`scrub` masks it anywhere."""
    global _pattern, _forms
    if value and len(value) >= _MIN_SECRET_LEN and value not in _secrets:
        _secrets.add(value)
        forms = set(_forms) | {f for f in _text_forms(value) if len(f) >= _MIN_SECRET_LEN}
        _forms = tuple(sorted(forms, key=len, reverse=True))
        _pattern = re.compile("|".join(re.escape(s) for s in _forms))


def _text_forms(value: str) -> set[str]:
    """The ways a secret shows up in text: as is, JSON-escaped (a rendered log line), repr-escaped (an
    exception such as ``Invalid header value b'...\\n'``), both, and stripped of surrounding whitespace (a
    value pasted with a newline is escaped differently in every form, its core is not)."""

    def as_json(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)[1:-1]

    def as_repr(text: str) -> str:
        return repr(text)[1:-1]

    core = value.strip()
    return {
        value,
        core,
        as_json(value),
        as_repr(value),
        as_json(as_repr(value)),
        as_json(core),
        as_repr(core),
    }


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    words = _CAMEL.sub("_", key)
    return bool(_SECRET_KEY.search(words)) and not _METADATA_SUFFIX.search(words)


def scrub(text: str) -> str:
    """Mask registered secret values, signed Authorization values and bearer tokens inside free text."""
    # Every log line comes through here. Each substitution runs only when a plain substring test (much cheaper
    # than a regex scan) says it could match; each test accepts everything its pattern can match.
    if _pattern is not None and any(form in text for form in _forms):
        text = _pattern.sub(MASK, text)
    if "SDK-HMAC-SHA256" in text:
        text = _AUTH_HEADER_VALUE.sub(rf"\1{MASK}\2{MASK}", text)
    if _may_hold_bearer(text):
        text = _BEARER.sub(rf"\1 {MASK}", text)
    if "sig=" in text:
        text = _LINK_SIGNATURE.sub(rf"\1{MASK}", text)
    return text


def clip(text: str, limit: int) -> str:
    """``text`` scrubbed, then cut to ``limit`` characters. Never the other way round: a secret cut in two no
    longer matches, and its first part would be kept."""
    return scrub(text)[:limit]


def _may_hold_bearer(text: str) -> bool:
    # For ASCII text, lower() equals the regex's IGNORECASE; beyond ASCII, case folding has exceptions
    # (U+017F matches "s"), so the regex decides.
    if text.isascii():
        lowered = text.lower()
        return "bearer" in lowered or "basic" in lowered
    return True


def redact(value: Any) -> Any:
    """Deep copy of ``value`` with secret keys masked and every string scrubbed.

    JSON scalars are kept; bytes and any other object (an exception, a dataclass holding headers...) are
    rendered as scrubbed text, because a JSON renderer would otherwise ``str()`` them unscrubbed.
    """
    return _walk(value, _scrub_leaf)


def mask_secret_keys(value: Any) -> Any:
    """Copy of ``value`` with values under secret-named keys masked; other values are left as they are.

    The logger's fast path: it masks by key here and then scrubs the rendered line once with :func:`scrub`,
    instead of running the value patterns over every string of every event.
    """
    return _walk(value, lambda leaf: leaf)


def _scrub_leaf(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bytes | bytearray):
        return scrub(bytes(value).decode("utf-8", "replace"))
    return scrub(str(value))


def _walk(value: Any, leaf: Callable[[Any], Any], depth: int = 0) -> Any:
    """Copy mappings and sequences, masking values under secret-named keys; ``leaf`` maps everything else."""
    # Exact-type checks first: every log line goes through here, and an ABC isinstance check costs ~10x more.
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return leaf(value)
    if depth > 12:
        return MASK
    if kind is dict or isinstance(value, Mapping):
        return {
            k: (
                MASK
                if isinstance(k, str) and is_secret_key(k) and _is_secret_value(v)
                else _walk(v, leaf, depth + 1)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_walk(v, leaf, depth + 1) for v in value]
    return leaf(value)


def _is_secret_value(value: Any) -> bool:
    # Flags and counts under a secret-sounding key (``token: true``) are not secrets.
    return value not in (None, "") and not isinstance(value, bool | int | float)
