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
none of the ``exclude`` regexes. Regexes are compiled at load, limited to 512 characters, and patterns with a
nested unbounded repetition such as ``(a+)+`` are refused (catastrophic backtracking). Inputs are SWR names and
tags (128 characters at most), so matching stays cheap.

Every matching rule contributes its targets; targets are de-duplicated by (region, namespace). If two rules name
the same destination with different ``override`` values, ``override`` is true (the explicit request to overwrite
wins).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared import wirejson
from shared.endpoints import valid_region
from shared.errors import ConfigError
from shared.names import InvalidName, validate_namespace

MAX_REGEX_LEN = 512
MAX_RULES = 1000
MAX_TARGETS = 100
REGEX_PREFIX = "re:"

_RULE_KEYS = {"name", "namespace", "repository", "tags", "targets"}
_TAG_KEYS = {"include", "exclude"}
_TARGET_KEYS = {"region", "namespace", "override"}
_GLOB_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


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
    regex: re.Pattern[str] = field(compare=False)

    def matches(self, value: str) -> bool:
        return self.regex.fullmatch(value) is not None


@dataclass(frozen=True)
class TagFilter:
    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()

    def check(self, tag: str) -> str | None:
        """None if ``tag`` passes, else the reason it does not."""
        if self.include and not any(p.fullmatch(tag) for p in self.include):
            return "tag matches no include regex"
        for p in self.exclude:
            if p.fullmatch(tag):
                return f"tag matches exclude regex {p.pattern!r}"
        return None

    @property
    def empty(self) -> bool:
        return not self.include and not self.exclude


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

    def evaluate(self, namespace: str, repository: str, tag: str | None) -> Evaluation:
        """Every rule against one image; ``tag=None`` ignores tag filters."""
        merged: dict[tuple[str, str], tuple[bool, list[str]]] = {}
        rejections: list[tuple[str, str]] = []
        for rule in self.rules:
            reason = rule.why_not(namespace, repository, tag)
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
        errors.append('.tags: must be an object {"include": [...], "exclude": [...]}')
        return None
    unknown = sorted(set(value) - _TAG_KEYS)
    if unknown:
        errors.append(f".tags: unknown key(s) {unknown} (allowed: {sorted(_TAG_KEYS)})")
    lists: dict[str, tuple[re.Pattern[str], ...]] = {}
    ok = not unknown
    for key in ("include", "exclude"):
        raw = value.get(key, [])
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            errors.append(f".tags.{key}: must be a list of regexes")
            ok = False
            continue
        compiled: list[re.Pattern[str]] = []
        for i, pattern in enumerate(raw):
            try:
                if not isinstance(pattern, str):
                    raise RuleError(f"must be a string, got {type(pattern).__name__}")
                compiled.append(compile_regex(pattern.removeprefix(REGEX_PREFIX)))
            except RuleError as err:
                errors.append(f".tags.{key}[{i}]: {err}")
                ok = False
        lists[key] = tuple(compiled)
    if not ok:
        return None
    return TagFilter(lists.get("include", ()), lists.get("exclude", ()))


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
    return Pattern(text, re.compile(glob_to_regex(text, allow_slash)))


def glob_to_regex(glob: str, allow_slash: bool = True) -> str:
    """Translate the documented glob syntax to a regex (for full matching); RuleError on bad syntax."""
    if not glob:
        raise RuleError("empty pattern")
    if len(glob) > MAX_REGEX_LEN:
        raise RuleError(f"pattern longer than {MAX_REGEX_LEN} characters")
    allowed = _GLOB_NAME_CHARS | ({"/"} if allow_slash else set())
    out: list[str] = []
    depth = 0
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "*":
            if glob.startswith("***", i):
                raise RuleError(f"bad glob {glob!r}: '***' at position {i} (use '*' or '**')")
            if glob.startswith("**", i):
                if not allow_slash:
                    raise RuleError(
                        f"bad glob {glob!r}: '**' makes no sense in a namespace (no '/'), use '*'"
                    )
                segment_start = i == 0 or glob[i - 1] in "/{,"
                if segment_start and glob.startswith("**/", i):
                    out.append("(?:.*/)?")
                    i += 3
                else:
                    out.append(".*")
                    i += 2
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "{":
            depth += 1
            out.append("(?:")
        elif c == "}":
            if depth == 0:
                raise RuleError(f"bad glob {glob!r}: unmatched '}}' at position {i}")
            depth -= 1
            out.append(")")
        elif c == ",":
            if depth == 0:
                raise RuleError(f"bad glob {glob!r}: ',' outside '{{...}}' at position {i}")
            out.append("|")
        elif c in allowed:
            out.append(re.escape(c))
        elif c == "/":
            raise RuleError(f"bad glob {glob!r}: a namespace has no '/'")
        elif c.isupper():
            raise RuleError(f"bad glob {glob!r}: {c!r} is upper case (SWR names are lower case)")
        else:
            raise RuleError(
                f"bad glob {glob!r}: character {c!r} at position {i} not allowed "
                f"(names use a-z 0-9 . _ -{' /' if allow_slash else ''}, wildcards * ** ? {{a,b}}, "
                f"or write re:<regex>)"
            )
        i += 1
    if depth:
        raise RuleError(f"bad glob {glob!r}: unclosed '{{'")
    return "".join(out)


def compile_regex(text: str) -> re.Pattern[str]:
    """Compile a user regex after the safety checks; RuleError with the reason otherwise."""
    if not text:
        raise RuleError("empty regex")
    if len(text) > MAX_REGEX_LEN:
        raise RuleError(f"regex longer than {MAX_REGEX_LEN} characters ({len(text)})")
    try:
        compiled = re.compile(text)
    except re.error as err:
        raise RuleError(f"bad regex {_show(text)}: {err}".replace("; ", ", ")) from None
    if _nested_repeat(text):
        raise RuleError(
            f"unsafe regex {_show(text)}: a repeated group contains another unbounded repetition "
            "(catastrophic backtracking), rewrite without nesting, e.g. (ab)+ instead of (a+b?)+"
        )
    return compiled


def _nested_repeat(text: str) -> bool:
    """True if the regex risks catastrophic backtracking (exponential time on a short input).

    A conservative analysis of the parsed regex: a repetition (``+``, ``*``, ``{n,}``, ``{m,n}`` with n > 1)
    is unsafe when its body can split the same text in several ways, that is when the body

    - contains another unbounded repetition and no mandatory single character that the inner repetitions
      cannot consume (``(a+)+``, ``(.*)*``, ``(\\w+\\.?)+`` are refused; ``(\\.\\d+)*`` and ``(a*b)*`` pass), or
    - has alternatives that can start with the same character (``(a|ab)+``, ``(a|a)*``).
    """
    try:
        import re._parser as sre  # type: ignore[import-not-found,unused-ignore]  # Python >= 3.11
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_parse as sre  # type: ignore[no-redef,import-not-found,unused-ignore]
    try:
        parsed = sre.parse(text)
    except Exception:  # re.compile accepted it already; nothing more to learn here
        return False
    return _Analysis(sre).unsafe(list(parsed))


class _Analysis:
    """Character-set reasoning over ``sre_parse`` trees (alphabet: ASCII plus one "other" symbol)."""

    OTHER = 128

    def __init__(self, sre: Any) -> None:
        self.sre = sre
        self.alphabet = frozenset(range(self.OTHER + 1))
        self.repeats = {sre.MAX_REPEAT, sre.MIN_REPEAT}
        if hasattr(sre, "POSSESSIVE_REPEAT"):
            self.repeats.add(sre.POSSESSIVE_REPEAT)
        self.single = {sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN}

    # character sets --------------------------------------------------------------------------------------

    def _char(self, code: int) -> int:
        return code if code < self.OTHER else self.OTHER

    def _category(self, category: Any) -> set[int]:
        names = {
            "CATEGORY_DIGIT": r"\d",
            "CATEGORY_NOT_DIGIT": r"\D",
            "CATEGORY_SPACE": r"\s",
            "CATEGORY_NOT_SPACE": r"\S",
            "CATEGORY_WORD": r"\w",
            "CATEGORY_NOT_WORD": r"\W",
        }
        probe = names.get(str(category))
        if probe is None:
            return set(self.alphabet)
        rx = re.compile(probe)
        out = {c for c in range(self.OTHER) if rx.fullmatch(chr(c))}
        if rx.fullmatch("\u00e9"):
            out.add(self.OTHER)
        return out

    def _set(self, op: Any, arg: Any) -> set[int]:
        sre = self.sre
        if op == sre.LITERAL:
            return {self._char(arg)}
        if op == sre.NOT_LITERAL:
            return set(self.alphabet - {self._char(arg)})
        if op == sre.ANY:
            return set(self.alphabet - {10})
        if op == sre.IN:
            out: set[int] = set()
            negate = False
            for item_op, item_arg in arg:
                if item_op == sre.NEGATE:
                    negate = True
                elif item_op == sre.LITERAL:
                    out.add(self._char(item_arg))
                elif item_op == sre.RANGE:
                    lo, hi = item_arg
                    out.update(range(min(lo, self.OTHER), min(hi, self.OTHER - 1) + 1))
                    if hi >= self.OTHER:
                        out.add(self.OTHER)
                elif item_op == sre.CATEGORY:
                    out |= self._category(item_arg)
                else:
                    return set(self.alphabet)
            return set(self.alphabet - out) if negate else out
        return set(self.alphabet)

    def _children(self, op: Any, arg: Any) -> list[list[Any]]:
        sre = self.sre
        if op in self.repeats:
            return [list(arg[2])]
        if op == sre.SUBPATTERN:
            return [list(arg[-1])]
        if op == sre.BRANCH:
            return [list(b) for b in arg[1]]
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            return [list(arg[1])]
        if op == getattr(sre, "ATOMIC_GROUP", None):
            return [list(arg)]
        return []

    def chars(self, seq: list[Any]) -> set[int]:
        """Every character any part of ``seq`` can consume."""
        out: set[int] = set()
        for op, arg in seq:
            if op in self.single:
                out |= self._set(op, arg)
            for child in self._children(op, arg):
                out |= self.chars(child)
        return out

    def first(self, seq: list[Any]) -> tuple[set[int], bool]:
        """Characters ``seq`` can start with, and whether it can match the empty string."""
        sre = self.sre
        out: set[int] = set()
        for op, arg in seq:
            if op in self.single:
                return out | self._set(op, arg), False
            if op in self.repeats:
                f, nullable = self.first(list(arg[2]))
                out |= f
                if not (nullable or arg[0] == 0):
                    return out, False
            elif op == sre.SUBPATTERN:
                f, nullable = self.first(list(arg[-1]))
                out |= f
                if not nullable:
                    return out, False
            elif op == sre.BRANCH:
                results = [self.first(list(b)) for b in arg[1]]
                for f, _ in results:
                    out |= f
                if not any(n for _, n in results):
                    return out, False
            elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
                continue
            else:
                return set(self.alphabet), True
        return out, True

    # safety ----------------------------------------------------------------------------------------------

    def _unbounded_chars(self, seq: list[Any]) -> set[int]:
        out: set[int] = set()
        for op, arg in seq:
            if op in self.repeats and arg[1] == self.sre.MAXREPEAT:
                out |= self.chars(list(arg[2]))
            for child in self._children(op, arg):
                out |= self._unbounded_chars(child)
        return out

    def _mandatory(self, seq: list[Any]) -> list[set[int]]:
        out: list[set[int]] = []
        for op, arg in seq:
            if op in self.single:
                out.append(self._set(op, arg))
            elif op == self.sre.SUBPATTERN:
                out.extend(self._mandatory(list(arg[-1])))
        return out

    def _separated(self, body: list[Any], inner: set[int]) -> bool:
        """Each iteration of ``body`` must consume a character none of the inner repetitions can."""
        if any(not (m & inner) for m in self._mandatory(body)):
            return True
        if len(body) == 1:
            op, arg = body[0]
            if op == self.sre.SUBPATTERN:
                return self._separated(list(arg[-1]), inner)
            if op == self.sre.BRANCH:
                return all(self._separated(list(b), inner) for b in arg[1])
        return False

    def _ambiguous_branch(self, seq: list[Any]) -> bool:
        for op, arg in seq:
            if op == self.sre.BRANCH:
                seen: set[int] = set()
                for branch in arg[1]:
                    f, nullable = self.first(list(branch))
                    if nullable or seen & f:
                        return True
                    seen |= f
            for child in self._children(op, arg):
                if op not in self.repeats and self._ambiguous_branch(child):
                    return True
        return False

    def unsafe(self, seq: list[Any]) -> bool:
        for op, arg in seq:
            if op in self.repeats and (arg[1] == self.sre.MAXREPEAT or arg[1] > 1):
                body = list(arg[2])
                inner = self._unbounded_chars(body)
                if inner and not self._separated(body, inner):
                    return True
                if arg[1] == self.sre.MAXREPEAT and self._ambiguous_branch(body):
                    return True
            if any(self.unsafe(child) for child in self._children(op, arg)):
                return True
        return False


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
