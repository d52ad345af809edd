"""push-sync's rules (shared.rules) for drift, parsed once per configuration value."""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from shared.rules import RuleSet, load_rules


class RuleSettings(Protocol):
    """What the rules are read from (ExportSettings); a protocol, so settings.py may import this module."""

    @property
    def sync_rules(self) -> str | None: ...

    @property
    def sync_rules_file(self) -> str | None: ...


def rules_for(settings: RuleSettings) -> RuleSet:
    """The configured rules; ConfigError (listing every problem) if they are missing or invalid."""
    return _load(settings.sync_rules, settings.sync_rules_file)


@lru_cache(maxsize=8)
def _load(text: str | None, path: str | None) -> RuleSet:
    values = {"SYNC_RULES": text, "SYNC_RULES_FILE": path}
    return load_rules(values.get, required=True)
