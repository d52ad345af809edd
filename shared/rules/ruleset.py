"""The rule set: loading (``SYNC_RULES`` / ``SYNC_RULES_FILE``) and matching an image against every rule."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shared.record import record
from shared.rules.model import Evaluation, Match, Rule, Target
from shared.rules.parse import rules_from_data
from shared.rules.selection import TagInfo
from shared.swr import wirejson
from shared.swr.errors import ConfigError


@record(frozen=True)
class RuleSet:
    """Every sync rule, in order."""

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
        return cls(rules_from_data(data, source))

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
    ``required``). ``lookup`` is a config lookup such as :func:`shared.runtime.config.env_lookup`."""
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
