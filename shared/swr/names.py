"""SWR namespace and repository names: validation per the API reference, and URL path encoding.

Rules (from the sync_images / sync_job API pages):
- namespace: 1-64 characters, starts with a lowercase letter, ends with a lowercase letter or digit,
  only ``[a-z0-9._-]``.
- repository: 1-128 characters, starts and ends with a lowercase letter or digit, only ``[a-z0-9./_-]``.
- both: separators (``.``, ``_``, ``-`` and, in repositories, ``/``) may not be next to each other,
  except that up to two underscores may be consecutive (``__``).

Encoding: the API says to replace ``/`` with ``$`` in a repository before sending. We then percent-encode the
segment with ``quote(safe="")``, so ``$`` goes on the wire as ``%24``. That is what the official SDK sends, and it
equals the canonical URI the SDK-HMAC-SHA256 signer computes, so what we sign and what we send are the same bytes.
"""

from __future__ import annotations

import itertools
import re
from urllib.parse import quote

from shared.record import record

NAMESPACE_MAX = 64
REPOSITORY_MAX = 128

_NAMESPACE_CHARS = re.compile(r"[a-z0-9._-]*")
_REPOSITORY_CHARS = re.compile(r"[a-z0-9./_-]*")
_NAMESPACE_SEPS = "._-"
_REPOSITORY_SEPS = "._-/"


class InvalidName(ValueError):
    """A namespace or repository name broke a documented rule. ``rule`` names the rule."""

    def __init__(self, kind: str, value: object, rule: str, detail: str) -> None:
        self.kind = kind
        self.rule = rule
        self.value = _printable(value)
        self.detail = detail
        super().__init__(f"invalid {kind} {self.value}: {detail} (rule: {rule})")


def _printable(value: object, limit: int = 80) -> str:
    """A safe, bounded rendering of untrusted input for error messages (no control characters)."""
    text = value if isinstance(value, str) else repr(value)
    shown = text[:limit].encode("unicode_escape").decode("ascii")
    return repr(shown + ("..." if len(text) > limit else ""))


@record(frozen=True)
class _Rules:
    """SWR's naming rules for one kind of name."""

    kind: str
    max_len: int
    chars: re.Pattern[str]
    seps: str
    allowed_text: str
    start_letter_only: bool


_NS = _Rules("namespace", NAMESPACE_MAX, _NAMESPACE_CHARS, _NAMESPACE_SEPS, "a-z 0-9 . _ -", True)
_REPO = _Rules("repository", REPOSITORY_MAX, _REPOSITORY_CHARS, _REPOSITORY_SEPS, "a-z 0-9 . / _ -", False)


def _check(value: object, r: _Rules) -> str:
    if not isinstance(value, str):
        raise InvalidName(r.kind, value, "type", f"{r.kind} must be a string")
    if not 1 <= len(value) <= r.max_len:
        raise InvalidName(r.kind, value, "length", f"must be 1-{r.max_len} characters, got {len(value)}")
    if not r.chars.fullmatch(value):
        bad = next(c for c in value if not r.chars.fullmatch(c))
        raise InvalidName(
            r.kind, value, "characters", f"character {_printable(bad)} not allowed; only {r.allowed_text}"
        )
    first, last = value[0], value[-1]
    if r.start_letter_only and not first.islower():
        raise InvalidName(r.kind, value, "start", "must start with a lowercase letter")
    if not r.start_letter_only and first in r.seps:
        raise InvalidName(r.kind, value, "start", "must start with a lowercase letter or digit")
    if last in r.seps:
        raise InvalidName(r.kind, value, "end", "must end with a lowercase letter or digit")
    if "___" in value:
        raise InvalidName(r.kind, value, "underscores", "at most two consecutive underscores")
    for a, b in itertools.pairwise(value):
        if a in r.seps and b in r.seps and not (a == b == "_"):
            raise InvalidName(
                r.kind, value, "adjacent-separators", f"separators {a!r} and {b!r} may not be adjacent"
            )
    return value


def validate_namespace(value: object) -> str:
    """Return ``value`` if it is a valid SWR namespace (organization), else raise :class:`InvalidName`."""
    return _check(value, _NS)


def validate_repository(value: object) -> str:
    """Return ``value`` if it is a valid SWR repository name (may contain ``/``), else raise."""
    return _check(value, _REPO)


def is_valid_namespace(value: object) -> bool:
    try:
        validate_namespace(value)
    except InvalidName:
        return False
    return True


def is_valid_repository(value: object) -> bool:
    try:
        validate_repository(value)
    except InvalidName:
        return False
    return True


def encode_namespace(namespace: str) -> str:
    """Validated namespace as one URL path segment."""
    return quote(validate_namespace(namespace), safe="")


def encode_repository(repository: str) -> str:
    """Validated repository as one URL path segment: ``/`` becomes ``$``, then ``%24`` on the wire."""
    return quote(validate_repository(repository).replace("/", "$"), safe="")


def decode_repository(segment: str) -> str:
    """Inverse of :func:`encode_repository` for a raw path segment (``%24`` or ``$`` both accepted)."""
    from urllib.parse import unquote

    return unquote(segment).replace("$", "/")


def repo_path(namespace: str, repository: str, leaf: str) -> str:
    """``/v2/manage/namespaces/{ns}/repos/{repo}/{leaf}`` with both names validated and encoded."""
    return f"/v2/manage/namespaces/{encode_namespace(namespace)}/repos/{encode_repository(repository)}/{leaf}"


def split_full_name(full_name: str) -> tuple[str, str]:
    """A registry's ``ns/path/to/repo`` → (``ns``, ``path/to/repo``); both validated."""
    if not isinstance(full_name, str) or "/" not in full_name:
        raise InvalidName(
            "repository", full_name, "full-name", "expected 'namespace/repository' with at least one '/'"
        )
    namespace, repository = full_name.split("/", 1)
    return validate_namespace(namespace), validate_repository(repository)
