"""Sync rules: which pushed images go to which SWR regions and namespaces.

Configuration: ``SYNC_RULES`` (JSON text) or ``SYNC_RULES_FILE`` (path to a JSON file). The JSON is a list of
rules, or an object ``{"rules": [...]}``. A rule::

    {
      "name": "team-apps",                       # optional, unique; default label "rules[<index>]"
      "namespace": "demo",                       # pattern, default "*"
      "repository": "team/**",                   # pattern, default "**"
      "tags": {"include": ["v\\d+(\\.\\d+)*"],   # optional; regexes, full match
               "exclude": [".*-rc\\d*"]},
      "targets": [{"region": "cn-north-4", "namespace": "demo-dr", "override": false}]
    }

Patterns are globs: ``*`` (any run of characters without ``/``), ``**`` (any run, ``/`` included; ``**/`` at the
start of a segment also matches zero segments, so ``**/app`` matches ``app``), ``?`` (one character other than
``/``) and ``{a,b}`` (alternatives, may nest). A pattern written ``re:<regex>`` is a regex, full match.

Tag filters: a tag passes when it full-matches at least one ``include`` regex (no ``include`` = every tag) and
none of the ``exclude`` regexes. Matching takes time linear in the input whatever the pattern
(:mod:`shared.patterns`): globs run on an NFA, regexes on RE2. Regexes are compiled at load, limited to 512
characters; one RE2 cannot run (a backreference, a lookaround) is refused there, with the reason.

Every matching rule contributes its targets; targets are de-duplicated by (region, namespace). If two rules name
the same destination with different ``override`` values, ``override`` is true (the explicit request to overwrite
wins).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shared import patterns, wirejson
from shared.endpoints import valid_region
from shared.errors import ConfigError
from shared.names import InvalidName, validate_namespace
from shared.patterns import Matcher
from shared.selection import TagInfo, VersionSelection, from_rule_tags

MAX_REGEX_LEN = patterns.MAX_PATTERN_LEN
MAX_RULES = 1000
MAX_TARGETS = 100
REGEX_PREFIX = "re:"

_RULE_KEYS = {"name", "namespace", "repository", "tags", "targets"}
_TAG_KEYS = {"include", "exclude", "semver", "prerelease", "latest"}
_TARGET_KEYS = {"region", "namespace", "override"}


class RuleError(ValueError):
    """One problem in one place; collected into a :class:`ConfigError`."""


# -- data ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
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


@dataclass(frozen=True)
class Match:
    """A target selected for an image, with the labels of every rule that selected it."""

    target: Target
    rules: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.target.to_dict(), "rules": list(self.rules)}


@dataclass(frozen=True)
class Pattern:
    """A compiled namespace/repository pattern; ``text`` is what the user wrote."""

    text: str
    regex: Matcher = field(compare=False)

    def matches(self, value: str) -> bool:
        return bool(self.regex.fullmatch(value))


@dataclass(frozen=True)
class TagFilter:
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


@dataclass(frozen=True)
class Rule:
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


@dataclass(frozen=True)
class Evaluation:
    """Result of evaluating every rule for one image: the matches, and why each other rule did not apply."""

    matches: tuple[Match, ...]
    rejections: tuple[tuple[str, str], ...]  # (rule label, reason)

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(m.target for m in self.matches)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()

    def __len__(self) -> int:
        return len(self.rules)

    def __bool__(self) -> bool:
        return bool(self.rules)

    @classmethod
    def parse(cls, text: str | bytes, source: str = "SYNC_RULES") -> RuleSet:
        """Parse and validate rules JSON; raises :class:`ConfigError` listing every problem."""
        try:
            data = wirejson.loads(text)
        except ValueError as err:
            raise ConfigError([f"{source}: invalid JSON: {err}"]) from None
        return cls.from_data(data, source)

    @classmethod
    def from_data(cls, data: Any, source: str = "SYNC_RULES") -> RuleSet:
        if isinstance(data, dict):
            extra = sorted(set(data) - {"rules"})
            if extra:
                raise ConfigError(
                    [f"{source}: unknown top-level key(s) {extra}, expected {{'rules': [...]}}"]
                )
            data = data.get("rules")
        if not isinstance(data, list):
            raise ConfigError([f"{source}: expected a JSON list of rules (or {{'rules': [...]}})"])
        if len(data) > MAX_RULES:
            raise ConfigError([f"{source}: {len(data)} rules, at most {MAX_RULES} allowed"])
        problems: list[str] = []
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(data):
            rule, errors = _parse_rule(index, item)
            where = _where(source, index, item)
            problems.extend(f"{where}{e}" for e in errors)
            if rule is not None:
                if rule.name is not None:
                    if rule.name in seen:
                        problems.append(f"{where}.name: duplicate of rules[{seen[rule.name]}]")
                    seen.setdefault(rule.name, index)
                rules.append(rule)
        if problems:
            raise ConfigError(problems)
        return cls(tuple(rules))

    # -- evaluation -----------------------------------------------------------------------------------------

    @property
    def needs_listing(self) -> bool:
        """True when some rule selects ``latest`` tags: deciding on a push then needs the repository's tags."""
        return any(rule.tags.versions.needs_listing for rule in self.rules)

    def evaluate(
        self, namespace: str, repository: str, tag: str | None, listing: Listing | None = None
    ) -> Evaluation:
        """Every rule against one image; ``tag=None`` ignores tag filters. ``listing()`` gives the repository's
        tags for rules that keep only the ``latest`` N (called only for such a rule; the caller caches it)."""
        merged: dict[tuple[str, str], tuple[bool, list[str]]] = {}
        rejections: list[tuple[str, str]] = []
        for rule in self.rules:
            reason = rule.why_not(namespace, repository, tag)
            if reason is None and tag is not None and rule.tags.versions.needs_listing:
                reason = _latest_reason(rule, tag, listing)
            if reason is not None:
                rejections.append((rule.label, reason))
                continue
            for target in rule.targets:
                override, labels = merged.get(target.destination, (False, []))
                if rule.label not in labels:
                    labels.append(rule.label)
                merged[target.destination] = (override or target.override, labels)
        matches = tuple(
            Match(Target(region, ns, override), tuple(labels))
            for (region, ns), (override, labels) in merged.items()
        )
        return Evaluation(matches, tuple(rejections))

    def match(self, namespace: str, repository: str, tag: str) -> list[Match]:
        """Targets for a pushed tag (rule order, then target order), each with the rules that chose it."""
        return list(self.evaluate(namespace, repository, tag).matches)

    def desired_targets(self, namespace: str, repository: str) -> set[Target]:
        """Targets for a repository regardless of tag filters (drift export / auto-sync policies)."""
        return {m.target for m in self.evaluate(namespace, repository, None).matches}


Listing = Callable[[], "Sequence[TagInfo]"]


def _latest_reason(rule: Rule, tag: str, listing: Listing | None) -> str | None:
    """Why ``tag`` is outside the rule's ``latest`` N, or None. The pushed tag counts even if the listing
    does not show it yet (a webhook can arrive before the listing is updated)."""
    if listing is None:
        return f"rule keeps the latest {rule.tags.versions.latest} tags, and no tag listing is available"
    tags = list(listing())
    if not any(info.tag == tag for info in tags):
        tags.append(TagInfo(tag, datetime.now(timezone.utc)))
    kept, dropped = rule.tags.select(tags)
    if any(info.tag == tag for info in kept):
        return None
    return dropped.get(tag, f"tag {tag!r} is outside latest {rule.tags.versions.latest}")


def load_rules(
    lookup: Callable[[str], str | None],
    required: bool = True,
    name: str = "SYNC_RULES",
    file_name: str = "SYNC_RULES_FILE",
) -> RuleSet:
    """Rules from ``SYNC_RULES`` (JSON) or ``SYNC_RULES_FILE`` (path); ConfigError if invalid (or missing and
    ``required``). ``lookup`` is a config lookup such as :func:`shared.config.env_lookup`."""
    text = lookup(name) or None
    path = lookup(file_name) or None
    if path is not None:
        file_text = _read_text(path, file_name)
        # env_lookup resolves NAME_FILE into NAME itself (stripped): the same text is not a conflict.
        if text is not None and text.strip() != file_text.strip():
            raise ConfigError([f"{name}/{file_name}: both set, set only one"])
        return RuleSet.parse(file_text, f"{file_name} ({path})")
    if text is not None:
        return RuleSet.parse(text, name)
    if required:
        raise ConfigError([f"{name}: required (JSON rules, or {file_name} with a path to a JSON file)"])
    return RuleSet()


def read_rules_file(path: str, source: str = "SYNC_RULES_FILE") -> RuleSet:
    """Rules from a JSON file; ConfigError naming the file if unreadable or invalid."""
    return RuleSet.parse(_read_text(path, source), f"{source} ({path})")


def _read_text(path: str, source: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        detail = err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
        raise ConfigError([f"{source}: cannot read {path!r}: {detail}"]) from None


# -- parsing ------------------------------------------------------------------------------------------------


def _where(source: str, index: int, item: Any) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    label = f" (name {name!r})" if isinstance(name, str) and name else ""
    return f"{source}: rules[{index}]{label}"


def _parse_rule(index: int, item: Any) -> tuple[Rule | None, list[str]]:
    if not isinstance(item, dict):
        return None, [f": must be an object, got {type(item).__name__}"]
    errors: list[str] = []
    unknown = sorted(set(item) - _RULE_KEYS)
    if unknown:
        errors.append(f": unknown key(s) {unknown} (allowed: {sorted(_RULE_KEYS)})")

    name = item.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 128):
        errors.append(".name: must be a non-empty string of at most 128 characters")
        name = None

    namespace = _field_pattern(item, "namespace", "*", allow_slash=False, errors=errors)
    repository = _field_pattern(item, "repository", "**", allow_slash=True, errors=errors)
    tags = _parse_tags(item.get("tags"), errors)
    targets = _parse_targets(item.get("targets"), errors)
    if errors or namespace is None or repository is None or tags is None:
        return None, errors
    return Rule(index, name, namespace, repository, tags, targets), errors


def _field_pattern(
    item: dict[str, Any], key: str, default: str, allow_slash: bool, errors: list[str]
) -> Pattern | None:
    value = item.get(key, default)
    if not isinstance(value, str) or not value:
        errors.append(f".{key}: must be a non-empty string pattern")
        return None
    try:
        return compile_pattern(value, allow_slash=allow_slash)
    except RuleError as err:
        errors.append(f".{key}: {err}")
        return None


def _parse_tags(value: Any, errors: list[str]) -> TagFilter | None:
    if value is None:
        return TagFilter()
    if not isinstance(value, dict):
        errors.append('.tags: must be an object {"include": [...], "exclude": [...], "semver"?, "latest"?}')
        return None
    unknown = sorted(set(value) - _TAG_KEYS)
    if unknown:
        errors.append(f".tags: unknown key(s) {unknown} (allowed: {sorted(_TAG_KEYS)})")
    lists: dict[str, tuple[Matcher, ...]] = {}
    ok = not unknown
    for key in ("include", "exclude"):
        raw = value.get(key, [])
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            errors.append(f".tags.{key}: must be a list of regexes")
            ok = False
            continue
        compiled: list[Matcher] = []
        for i, pattern in enumerate(raw):
            try:
                if not isinstance(pattern, str):
                    raise RuleError(f"must be a string, got {type(pattern).__name__}")
                compiled.append(compile_regex(pattern.removeprefix(REGEX_PREFIX)))
            except RuleError as err:
                errors.append(f".tags.{key}[{i}]: {err}")
                ok = False
        lists[key] = tuple(compiled)
    versions = from_rule_tags(value, errors)
    if not ok or versions is None:
        return None
    return TagFilter(lists.get("include", ()), lists.get("exclude", ()), versions)


def _parse_targets(value: Any, errors: list[str]) -> tuple[Target, ...]:
    if not isinstance(value, list) or not value:
        errors.append(".targets: must be a non-empty list of {region, namespace, override?}")
        return ()
    if len(value) > MAX_TARGETS:
        errors.append(f".targets: {len(value)} targets, at most {MAX_TARGETS} allowed")
        return ()
    targets: list[Target] = []
    for i, raw in enumerate(value):
        where = f".targets[{i}]"
        if not isinstance(raw, dict):
            errors.append(f"{where}: must be an object, got {type(raw).__name__}")
            continue
        unknown = sorted(set(raw) - _TARGET_KEYS)
        if unknown:
            errors.append(f"{where}: unknown key(s) {unknown} (allowed: {sorted(_TARGET_KEYS)})")
        region, namespace, override = raw.get("region"), raw.get("namespace"), raw.get("override", False)
        good = not unknown
        if not isinstance(region, str) or not valid_region(region):
            errors.append(f"{where}.region: invalid region id {_show(region)} (expected e.g. 'cn-north-4')")
            good = False
        try:
            validate_namespace(namespace)
        except InvalidName as err:
            errors.append(f"{where}.namespace: {err}".replace("; ", ", "))
            good = False
        if not isinstance(override, bool):
            errors.append(f"{where}.override: must be true or false, got {_show(override)}")
            good = False
        if good:
            targets.append(Target(str(region), str(namespace), bool(override)))
    return tuple(targets)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- patterns -----------------------------------------------------------------------------------------------


def compile_pattern(text: str, allow_slash: bool) -> Pattern:
    """A glob (or ``re:<regex>``) for namespace (``allow_slash=False``) or repository names."""
    if text.startswith(REGEX_PREFIX):
        return Pattern(text, compile_regex(text[len(REGEX_PREFIX) :]))
    return Pattern(text, compile_glob(text, allow_slash))


def compile_glob(glob: str, allow_slash: bool = True) -> Matcher:
    """A glob on the linear-time NFA matcher; RuleError on bad syntax."""
    try:
        return patterns.GlobMatcher(glob, allow_slash)
    except patterns.PatternError as err:
        raise RuleError(str(err)) from None


def glob_to_regex(glob: str, allow_slash: bool = True) -> str:
    """The regex equivalent to ``glob`` (documentation, tests); RuleError on bad syntax."""
    try:
        return patterns.glob_regex(patterns.glob_tokens(glob, allow_slash))
    except patterns.PatternError as err:
        raise RuleError(str(err)) from None


def compile_regex(text: str) -> Matcher:
    """A user regex on RE2 (linear-time full matches); RuleError with the reason when RE2 cannot run it."""
    try:
        return patterns.compile_regex(text)
    except patterns.PatternError as err:
        raise RuleError(str(err)) from None


def split_patterns(value: str) -> list[str]:
    """Split a comma-separated list of patterns on commas outside ``{...}``, so ``app-{a,b}`` (a glob
    alternative) or ``v\\d{1,3}`` (a regex count) stays one item. Items are stripped; empty items are kept
    (callers decide whether an empty item is an error)."""
    items: list[str] = []
    depth, start = 0, 0
    for i, char in enumerate(value):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            items.append(value[start:i])
            start = i + 1
    items.append(value[start:])
    return [item.strip() for item in items]
