"""Tag selection by version, as regsync offers it: a semantic-version range and the latest N tags.

A rule's ``tags`` object may add, beside ``include``/``exclude``::

    "tags": {"semver": ">=1.2,<2", "prerelease": false, "latest": 3}

- ``semver``: the tag must read as a version (an optional ``v`` prefix, then ``1``, ``1.2`` or ``1.2.3``, with an
  optional pre-release such as ``-rc.1`` or build ``+meta``) inside every comma-separated bound. Tags that are
  not versions (``latest``, ``1.2-alpine``) never match a range.
- ``prerelease``: pre-releases (``1.3.0-rc.1``) are excluded unless true, from ranges and from ``latest``.
- ``latest: N``: only the N newest tags, by version when the tag reads as one, else by push time (non-version
  tags rank below every version tag). This needs the repository's other tags: push-sync lists them once for a
  push that such a rule covers, reconcile has them anyway.

Versions are parsed and ordered by ``packaging`` (PyPA's library: the pre-release, post-release and local
segments of semantic versions map onto it; ``1.2`` equals ``1.2.0``). It is imported on first use only, so a
function whose rules use no version selection never pays for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from shared.lazyre import lazy
from shared.record import record

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

MAX_LATEST = 10_000
MAX_RANGE_LEN = 256
# What a version tag looks like before packaging reads it: digits first, so 'latest' or 'main' never parse.
_VERSION_SHAPE = lazy(r"[vV]?(\d{1,9})(\.\d{1,9}){0,2}([-.+_]?[0-9A-Za-z][0-9A-Za-z.+_-]{0,100})?")
_BOUND = lazy(r"\s*(===|==|!=|<=|>=|~=|<|>)\s*[vV]?([0-9][0-9A-Za-z.*+!-]{0,60})\s*")
_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


class SelectionError(ValueError):
    """A ``semver``/``latest`` value that cannot be used, worded for the rule file's author."""


@lru_cache(maxsize=4096)
def parse_version(tag: str) -> Version | None:
    """The version a tag names, or None (``latest``, ``1.2-alpine``: not versions)."""
    if not _VERSION_SHAPE.fullmatch(tag):
        return None
    from packaging.version import InvalidVersion, Version

    try:
        return Version(tag[1:] if tag[:1] in "vV" else tag)
    except InvalidVersion:
        return None


@lru_cache(maxsize=256)  # checked for every tag of every push a rule covers: parse each range once
def parse_range(text: str) -> SpecifierSet:
    """``>=1.2,<2`` and the like; a bound without operator (``1.2``) means ``==1.2``."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_RANGE_LEN:
        raise SelectionError(f"must be a non-empty version range of at most {MAX_RANGE_LEN} characters")
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    bounds = []
    for part in text.split(","):
        match = _BOUND.fullmatch(part) or _BOUND.fullmatch(f"=={part.strip()}")
        if match is None:
            raise SelectionError(
                f"{part.strip()!r} is not a version bound (expected e.g. '>=1.2', '<2', '~=1.4')"
            )
        bounds.append(f"{match.group(1)}{match.group(2)}")
    try:
        return SpecifierSet(",".join(bounds))
    except InvalidSpecifier as err:
        raise SelectionError(f"{text!r} is not a version range: {err}") from None


def parse_latest(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LATEST:
        raise SelectionError(f"must be a whole number from 1 to {MAX_LATEST}, got {value!r}")
    return value


@record(frozen=True)
class TagInfo:
    """A tag as a listing reports it: the push time orders non-version tags for ``latest``."""

    tag: str
    pushed: datetime | None = None
    digest: str = ""


@record(frozen=True)
class VersionSelection:
    """The version part of a rule's tag selection; the empty selection passes every tag."""

    semver: str | None = None
    prerelease: bool = False
    latest: int | None = None

    def __post_init__(self) -> None:
        if self.semver is not None:
            parse_range(self.semver)  # refuse at load, not at the first push
        if self.latest is not None:
            parse_latest(self.latest)

    @property
    def empty(self) -> bool:
        return self.semver is None and self.latest is None

    @property
    def needs_listing(self) -> bool:
        """True when a decision on one tag depends on the repository's other tags."""
        return self.latest is not None

    def check(self, tag: str) -> str | None:
        """None if ``tag`` passes the range and pre-release rules, else why not (no listing needed)."""
        if self.semver is None and self.latest is None:
            return None
        version = parse_version(tag)
        if version is not None and version.is_prerelease and not self.prerelease:
            return f"tag {tag!r} is a pre-release (set tags.prerelease to include them)"
        if self.semver is None:
            return None
        if version is None:
            return f"tag {tag!r} is not a version, so it is outside semver {self.semver!r}"
        if not parse_range(self.semver).contains(version, prereleases=True):
            return f"version {version} is outside semver {self.semver!r}"
        return None

    def select(self, tags: Iterable[TagInfo]) -> tuple[list[TagInfo], dict[str, str]]:
        """The tags this selection keeps, newest first, and a reason for each one it drops."""
        dropped: dict[str, str] = {}
        kept: list[TagInfo] = []
        for info in tags:
            reason = self.check(info.tag)
            if reason is None:
                kept.append(info)
            else:
                dropped[info.tag] = reason
        kept = newest_first(kept)
        if self.latest is not None and len(kept) > self.latest:
            for rank, info in enumerate(kept[self.latest :], start=self.latest + 1):
                dropped[info.tag] = f"tag {info.tag!r} is #{rank} by age, outside latest {self.latest}"
            kept = kept[: self.latest]
        return kept, dropped


def order_key(info: TagInfo) -> tuple[int, Any, datetime, str]:
    """Sort key, ascending = oldest: every version above every non-version tag; push time breaks ties."""
    version = parse_version(info.tag)
    pushed = info.pushed or _EPOCH
    if pushed.tzinfo is None:
        pushed = pushed.replace(tzinfo=timezone.utc)
    if version is None:
        return (0, (), pushed, info.tag)
    return (1, version, pushed, info.tag)


def newest_first(tags: Sequence[TagInfo]) -> list[TagInfo]:
    return sorted(tags, key=order_key, reverse=True)


def from_rule_tags(value: dict[str, Any], errors: list[str]) -> VersionSelection | None:
    """The ``semver``/``prerelease``/``latest`` keys of a rule's ``tags`` object; problems go to ``errors``."""
    semver, prerelease, latest = value.get("semver"), value.get("prerelease", False), value.get("latest")
    ok = True
    if semver is not None:
        try:
            parse_range(semver)
        except SelectionError as err:
            errors.append(f".tags.semver: {err}")
            ok = False
    if not isinstance(prerelease, bool):
        errors.append(f".tags.prerelease: must be true or false, got {prerelease!r}"[:200])
        ok = False
    if latest is not None:
        try:
            parse_latest(latest)
        except SelectionError as err:
            errors.append(f".tags.latest: {err}"[:200])
            ok = False
    if not ok:
        return None
    return VersionSelection(semver, bool(prerelease), latest)
