"""What reconcile needs from configuration: the rules, a client per region, the repositories the rules select."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from functions.job_monitor.reconcile.run import Repo
from functions.job_monitor.settings import MonitorSettings
from shared.rules import RuleSet

if TYPE_CHECKING:
    from shared.swr.client import SwrClient


# The terminal command reads job-monitor's configuration: the same rules, endpoints and state store.
ReconcileSettings = MonitorSettings


def clients(
    settings: MonitorSettings, remaining_ms: float | None
) -> tuple[SwrClient, Callable[[str], SwrClient]]:
    """The source region's client, and one client per target region (made once, same credentials)."""
    from shared.runtime.connect import connect

    source = connect(settings, remaining_ms)
    made: dict[str, SwrClient] = {}
    lock = threading.Lock()

    def for_region(region: str) -> SwrClient:
        with lock:
            if region not in made:
                endpoint = (
                    settings.endpoint() if region == settings.swr_region else settings.region_endpoint(region)
                )
                made[region] = connect(settings, remaining_ms, endpoint=endpoint)
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
