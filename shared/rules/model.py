"""Rule data: targets, patterns, tag filters, rules and their evaluation, as plain frozen records (:mod:`shared.record`),
built by :mod:`shared.rules.parse` from validated input, never from raw input."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.record import field, record
from shared.rules import patterns
from shared.rules.patterns import Matcher
from shared.rules.selection import TagInfo, VersionSelection

MAX_REGEX_LEN = patterns.MAX_PATTERN_LEN
MAX_RULES = 1000
MAX_TARGETS = 100
REGEX_PREFIX = "re:"


class RuleError(ValueError):
    """One problem in one place; collected into a :class:`ConfigError`."""


# -- data ---------------------------------------------------------------------------------------------------


@record(frozen=True, order=True)
class Target:
    """A destination of a sync: SWR region id, namespace there, and whether to overwrite existing tags."""

    region: str
    namespace: str
    override: bool = False

    @property
    def destination(self) -> tuple[str, str]:
        return (self.region, self.namespace)

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.region, "namespace": self.namespace, "override": self.override}


@record(frozen=True)
class Match:
    """A target selected for an image, with the labels of every rule that selected it."""

    target: Target
    rules: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.target.to_dict(), "rules": list(self.rules)}


@record(frozen=True)
class Pattern:
    """A compiled namespace/repository pattern; ``text`` is what the user wrote."""

    text: str
    regex: Matcher = field(compare=False)

    def matches(self, value: str) -> bool:
        return bool(self.regex.fullmatch(value))


@record(frozen=True)
class TagFilter:
    """Which tags a rule keeps: include and exclude patterns and a version selection."""

    include: tuple[Matcher, ...] = ()
    exclude: tuple[Matcher, ...] = ()
    versions: VersionSelection = field(
        default_factory=VersionSelection
    )  # semver range, pre-releases, latest N

    def check(self, tag: str) -> str | None:
        """None if ``tag`` passes, else the reason it does not (``latest`` needs the listing: see
        :meth:`select`)."""
        if self.include and not any(p.fullmatch(tag) for p in self.include):
            return "tag matches no include regex"
        for p in self.exclude:
            if p.fullmatch(tag):
                return f"tag matches exclude regex {p.pattern!r}"
        return self.versions.check(tag)

    def select(self, tags: Iterable[TagInfo]) -> tuple[list[TagInfo], dict[str, str]]:
        """The repository's tags this filter keeps (newest first), and why each other one is dropped."""
        dropped: dict[str, str] = {}
        passing: list[TagInfo] = []
        for info in tags:
            reason = self.check(info.tag)
            if reason is None:
                passing.append(info)
            else:
                dropped[info.tag] = reason
        kept, by_version = self.versions.select(passing)
        return kept, {**dropped, **by_version}

    @property
    def empty(self) -> bool:
        return not self.include and not self.exclude and self.versions.empty


@record(frozen=True)
class Rule:
    """One sync rule, parsed."""

    index: int
    name: str | None
    namespace: Pattern
    repository: Pattern
    tags: TagFilter
    targets: tuple[Target, ...]

    @property
    def label(self) -> str:
        """How logs and answers name this rule: its name, else ``rules[<index>]``."""
        return self.name or f"rules[{self.index}]"

    def covers(self, namespace: str, repository: str) -> bool:
        return self.namespace.matches(namespace) and self.repository.matches(repository)

    def why_not(self, namespace: str, repository: str, tag: str | None) -> str | None:
        """None if the rule applies, else why not (for decision logs)."""
        if not self.namespace.matches(namespace):
            return f"namespace does not match {self.namespace.text!r}"
        if not self.repository.matches(repository):
            return f"repository does not match {self.repository.text!r}"
        if tag is not None:
            return self.tags.check(tag)
        return None


@record(frozen=True)
class Evaluation:
    """Result of evaluating every rule for one image: the matches, and why each other rule did not apply."""

    matches: tuple[Match, ...]
    rejections: tuple[tuple[str, str], ...]  # (rule label, reason)

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(m.target for m in self.matches)
