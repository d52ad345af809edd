"""Rule parsing: JSON data to :class:`~shared.rules.model.Rule` objects, every problem collected with its place,
and the pattern compilers (globs on the linear-time NFA, regexes on RE2)."""

from __future__ import annotations

from typing import Any

from shared.rules import patterns
from shared.rules.model import (
    MAX_RULES,
    MAX_TARGETS,
    REGEX_PREFIX,
    Pattern,
    Rule,
    RuleError,
    TagFilter,
    Target,
)
from shared.rules.patterns import Matcher
from shared.rules.selection import from_rule_tags
from shared.swr.endpoints import valid_region
from shared.swr.errors import ConfigError
from shared.swr.names import InvalidName, validate_namespace

_RULE_KEYS = {"name", "namespace", "repository", "tags", "targets"}
_TAG_KEYS = {"include", "exclude", "semver", "prerelease", "latest"}
_TARGET_KEYS = {"region", "namespace", "override"}


def rules_from_data(data: Any, source: str) -> tuple[Rule, ...]:
    """Rules from decoded JSON; raises :class:`ConfigError` listing every problem."""
    if isinstance(data, dict):
        extra = sorted(set(data) - {"rules"})
        if extra:
            raise ConfigError([f"{source}: unknown top-level key(s) {extra}, expected {{'rules': [...]}}"])
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
    return tuple(rules)


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
