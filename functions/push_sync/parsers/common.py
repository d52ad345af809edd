"""Helpers shared by the parsers: safe field access on untrusted JSON, and the push → SWR-name mapping."""

from __future__ import annotations

from typing import Any

from functions.push_sync.model import Ignored, ParseResult, PushEvent, Rejected
from shared.models import TAG_RE
from shared.names import InvalidName, split_full_name, validate_namespace, validate_repository

MAX_TEXT = 256  # longest untrusted string kept in answers and logs


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
    return not tag or tag.startswith("sha256:")


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
    if digest_s and not digest_s.startswith("sha256:"):
        digest_s = ""
    result.events.append(PushEvent(ns, repo, tag_s, digest_s, source, version))
