"""What reconcile needs from configuration: the rules, a client per region, the repositories the rules select."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import Field, PrivateAttr, model_validator

from functions.job_monitor.reconcile.run import Repo
from shared.config import SwrSettings
from shared.endpoints import swr_endpoint
from shared.errors import ConfigError
from shared.rules import RuleSet, load_rules

if TYPE_CHECKING:
    from shared.client import SwrClient


class ReconcileSettings(SwrSettings):
    """SWR access (inherited), push-sync's rules, and how to reach the target regions."""

    sync_rules: str | None = Field(default=None, alias="SYNC_RULES")
    sync_rules_file: str | None = Field(default=None, alias="SYNC_RULES_FILE")
    # e.g. http://127.0.0.1:8080/regions/{region} (the emulator); default: the public endpoint of the region
    endpoint_template: str | None = Field(default=None, alias="SWR_ENDPOINT_TEMPLATE")

    _rules: RuleSet = PrivateAttr(default_factory=RuleSet)

    @property
    def rules(self) -> RuleSet:
        return self._rules

    @model_validator(mode="after")
    def _reconcile(self) -> ReconcileSettings:
        problems: list[str] = []
        try:
            self._rules = load_rules(
                {"SYNC_RULES": self.sync_rules, "SYNC_RULES_FILE": self.sync_rules_file}.get
            )
        except ConfigError as err:
            problems.extend(err.problems)
        if self.endpoint_template is not None and (
            "{region}" not in self.endpoint_template
            or not self.endpoint_template.startswith(("http://", "https://"))
        ):
            problems.append("SWR_ENDPOINT_TEMPLATE: an http(s) URL with a {region} placeholder")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def source_region(self) -> str | None:
        return self.swr_region

    def region_endpoint(self, region: str) -> str:
        if region == self.source_region():
            return self.endpoint()
        if self.endpoint_template:
            return self.endpoint_template.replace("{region}", region)
        return swr_endpoint(region)


def clients(
    settings: ReconcileSettings, remaining_ms: float | None
) -> tuple[SwrClient, Callable[[str], SwrClient]]:
    """The source region's client, and one client per target region (made once, same credentials)."""
    from shared.connect import connect

    source = connect(settings, remaining_ms)
    made: dict[str, SwrClient] = {}
    lock = threading.Lock()

    def for_region(region: str) -> SwrClient:
        with lock:
            if region not in made:
                made[region] = connect(settings, remaining_ms, endpoint=settings.region_endpoint(region))
            return made[region]

    return source, for_region


def select_repos(client: SwrClient, rules: RuleSet, namespaces: Sequence[str] = ()) -> list[Repo]:
    """Every repository some rule covers, in the given namespaces or in every namespace a rule can match."""
    names = list(namespaces) or [
        n.name for n in client.list_namespaces() if any(r.namespace.matches(n.name) for r in rules.rules)
    ]
    found: list[Repo] = []
    for namespace in sorted(set(names)):
        for repo in client.iter_repos(namespace):
            if any(rule.covers(namespace, repo.name) for rule in rules.rules):
                found.append(Repo(namespace, repo.name))
    return found
