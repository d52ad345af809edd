"""Helpers shared by the parsers: JSON decoding, safe field access on untrusted JSON, digests, and the push →
SWR-name mapping."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from functions.push_sync.model import Ignored, ParseResult, PayloadError, PushEvent, Rejected
from shared.swr import wirejson
from shared.swr.models import TAG_RE
from shared.swr.names import InvalidName, split_full_name, validate_namespace, validate_repository

MAX_TEXT = 256  # longest untrusted string kept in answers and logs
# An OCI digest ``algorithm:encoded`` of the two registered algorithms, lower-case hex (OCI image-spec
# descriptor.md). Matched with ``fullmatch``.
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
DIGEST_ALGORITHMS = ("sha256:", "sha512:")
DIGEST_FORM = "sha256:<64 hex digits> or sha512:<128 hex digits>, lower case"
_JSON_KINDS = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}


class UnreadablePush(PayloadError):
    """The event is, or could be, a push, but it cannot be read (→ 400). A 200 "ignored" would stop the sender's
    retries and lose the tag, so an envelope (EventGrid, another CloudEvent) never turns this into an ignore."""


def unknown_kind(
    fmt: str, field: str, value: str, pushes: Iterable[str], others: Iterable[str]
) -> UnreadablePush:
    """The error for an event type a format's table does not list: it could be a push, so it is a 400 that names
    the types known, never an ignore (rule: only a positively identified non-push is acknowledged)."""
    return UnreadablePush(
        f"{fmt}: unknown {field} {show(value)!r}: cannot tell whether it is a push "
        f"(pushes: {sorted(pushes)}; acknowledged non-pushes: {sorted(others)})"
    )


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):  # rare: only then find which key repeats
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def loads(raw: str | bytes, what: str = "") -> Any:
    """Decode JSON text; :class:`PayloadError` names what is wrong (prefixed with ``what``, e.g. ``'data'``).

    An object with a repeated key is refused: ``json.loads`` would keep the last value and silently drop the
    others (``"tags": ["v1"], "tags": ["v2"]`` would sync only v2).
    """
    prefix = f"{what}: " if what else ""
    try:
        return wirejson.loads(raw, object_pairs_hook=_unique_keys)
    except _DuplicateKey as err:
        raise PayloadError(f"{prefix}malformed JSON: duplicate key '{show(err.key, 40)}'") from None
    except wirejson.JsonError as err:
        raise PayloadError(f"{prefix}{err}") from None


def json_kind(value: Any) -> str:
    """``an object``, ``an array``, ``null``, ...: what a JSON value is, for messages."""
    return "null" if value is None else _JSON_KINDS.get(type(value), type(value).__name__)


def text(value: Any, limit: int = 1024) -> str:
    """``value`` if it is a string (bounded), else ``""``: untrusted JSON never crashes a parser."""
    return value[:limit] if isinstance(value, str) else ""


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def show(value: Any, limit: int = 80) -> str:
    """A bounded, printable rendering of untrusted input for reasons and logs."""
    raw = value if isinstance(value, str) else repr(value)
    clipped = raw[:limit].encode("unicode_escape").decode("ascii")
    return clipped + ("..." if len(raw) > limit else "")


def is_digest_only(tag: str) -> bool:
    return not tag or tag.startswith(DIGEST_ALGORITHMS)


# Over 60 lines on purpose: its signature names every field a payload may carry (about 15 lines); the body
# checks each field once, in order, for every parser.
def add_push(
    result: ParseResult,
    source: str,
    tag: Any,
    digest: Any = "",
    full_name: Any = None,
    namespace: Any = None,
    repository: Any = None,
    version: str = "",
) -> None:
    """Validate one pushed tag and file it as an event, an ignored item or a rejected item.

    Either ``full_name`` (``ns/path/repo`` as the registry names it) or ``namespace`` + ``repository``.
    """
    tag_s, digest_s = text(tag, 300), text(digest, 200)
    if full_name is not None:
        raw_ns, _, raw_repo = text(full_name, 300).partition("/")
    else:
        raw_ns, raw_repo = text(namespace, 300), text(repository, 300)
    where = {"namespace": show(raw_ns), "repository": show(raw_repo)}
    if not tag_s and not digest_s:
        raise UnreadablePush(
            f"{source}: push of {show(raw_ns + '/' + raw_repo)} names neither a tag nor a digest: "
            "cannot tell what was pushed"
        )
    if is_digest_only(tag_s):
        result.ignored.append(
            Ignored("digest-only push (no tag): nothing to sync", source, {**where, "digest": show(digest_s)})
        )
        return
    try:
        if full_name is not None:
            ns, repo = split_full_name(text(full_name, 300))
        else:
            ns, repo = validate_namespace(namespace), validate_repository(repository)
    except InvalidName as err:
        result.rejected.append(
            Rejected(show(raw_ns), show(raw_repo), show(tag_s), str(err), f"{err.kind}:{err.rule}", source)
        )
        return
    if not TAG_RE.fullmatch(tag_s):
        result.rejected.append(
            Rejected(
                ns,
                repo,
                show(tag_s),
                f"invalid tag {show(tag_s)!r}: must match {TAG_RE.pattern}",
                "tag",
                source,
            )
        )
        return
    if digest_s and not DIGEST_RE.fullmatch(digest_s):
        # The digest is informational (SWR syncs tags); the push itself must not be lost over it.
        result.ignored.append(
            Ignored(
                f"invalid digest ignored (expected {DIGEST_FORM}); the tag is synced without it",
                source,
                {"namespace": ns, "repository": repo, "tag": tag_s, "digest": show(digest_s)},
            )
        )
        digest_s = ""
    result.events.append(PushEvent(ns, repo, tag_s, digest_s, source, version))
