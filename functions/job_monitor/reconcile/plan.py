"""Pure planning: the tags a repository should have in each target (from the rules) against the tags it has.

Desired state: for each rule covering the repository, the source tags its tag filter keeps (include/exclude,
``semver``, ``latest``), sent to the rule's targets. Actual state: the target region's listing of the same
repository in the target namespace. The difference is what a sync must bring; with ``override`` a tag present
under another digest differs too (both digests known), otherwise a present tag is left alone, as SWR would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from shared.record import field, record
from shared.rules import RuleSet, Target
from shared.rules.selection import TagInfo

MAX_SKIPPED_SHOWN = 20  # per repository in an answer; the counts are always complete


@record(frozen=True)
class TargetPlan:
    """What one (repository, target) needs: tags to sync, and how many are already there."""

    namespace: str
    repository: str
    target: Target
    to_sync: tuple[str, ...]
    present: int
    differing: tuple[str, ...] = ()  # subset of to_sync: present with another digest (override only)
    skipped: dict[str, str] = field(default_factory=dict)  # source tags not sent to this target, and why

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "namespace": self.namespace,
            "repository": self.repository,
            **self.target.to_dict(),
            "to_sync": list(self.to_sync),
            "present": self.present,
        }
        if self.differing:
            out["differing_digest"] = list(self.differing)
        if self.skipped:
            out["skipped"] = len(self.skipped)
            out["skipped_reasons"] = dict(list(self.skipped.items())[:MAX_SKIPPED_SHOWN])
        return out


@record
class RepoPlan:
    """The plan of one source repository: a TargetPlan per target, and the tags no rule selects."""

    namespace: str
    repository: str
    source_tags: int
    targets: list[TargetPlan] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # tag -> why no rule selects it
    error: str | None = None  # the repository could not be planned (listing failed): reported, never guessed

    @property
    def to_sync(self) -> int:
        return sum(len(t.to_sync) for t in self.targets)

    def to_dict(self) -> dict[str, Any]:
        shown = dict(list(self.skipped.items())[:MAX_SKIPPED_SHOWN])
        out: dict[str, Any] = {
            "namespace": self.namespace,
            "repository": self.repository,
            "source_tags": self.source_tags,
            "targets": [t.to_dict() for t in self.targets],
            "skipped": len(self.skipped),
            "skipped_reasons": shown,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


@record
class Desired:
    """What the rules want for one repository: per target the tags to be there (newest first) and why each
    other source tag is not sent there; and the tags no rule sends anywhere, with why."""

    targets: dict[Target, list[TagInfo]]
    skipped_by_target: dict[Target, dict[str, str]]
    skipped: dict[str, str]


def desired(
    rules: RuleSet,
    namespace: str,
    repository: str,
    tags: Sequence[TagInfo],
    source_region: str | None = None,
) -> Desired:
    """See :class:`Desired`. Targets naming the same destination merge (override wins, as for pushes); the
    source itself (same region and namespace, when ``source_region`` is known) is never a target."""
    chosen_for: dict[tuple[str, str], dict[str, TagInfo]] = {}
    override_for: dict[tuple[str, str], bool] = {}
    why_for: dict[tuple[str, str], dict[str, list[str]]] = {}
    reasons: dict[str, list[str]] = {}
    for rule in rules.rules:
        if not rule.covers(namespace, repository):
            continue
        kept, dropped = rule.tags.select(tags)
        for tag, why in dropped.items():
            reasons.setdefault(tag, []).append(f"{rule.label}: {why}")
        for target in rule.targets:
            dest = target.destination
            if dest == (source_region, namespace):
                continue
            chosen = chosen_for.setdefault(dest, {})
            for info in kept:
                chosen.setdefault(info.tag, info)
            override_for[dest] = override_for.get(dest, False) or target.override
            for tag, why in dropped.items():
                why_for.setdefault(dest, {}).setdefault(tag, []).append(f"{rule.label}: {why}")
    wanted: dict[Target, list[TagInfo]] = {}
    by_target: dict[Target, dict[str, str]] = {}
    selected: set[str] = set()
    for dest, chosen in chosen_for.items():
        target = Target(dest[0], dest[1], override_for[dest])
        wanted[target] = list(chosen.values())
        selected.update(chosen)
        dropped_here = why_for.get(dest, {})
        by_target[target] = {tag: "; ".join(dropped_here[tag]) for tag in dropped_here if tag not in chosen}
    skipped = {
        t.tag: "; ".join(reasons.get(t.tag, ["no rule covers it"])) for t in tags if t.tag not in selected
    }
    return Desired(wanted, by_target, skipped)


def difference(
    namespace: str,
    repository: str,
    target: Target,
    wanted: Iterable[TagInfo],
    present: Iterable[TagInfo],
    skipped: dict[str, str] | None = None,
) -> TargetPlan:
    """The tags of ``wanted`` the target lacks (or, with override, holds under another digest)."""
    there = {t.tag: t.digest for t in present}
    to_sync: list[str] = []
    differing: list[str] = []
    for info in wanted:
        if info.tag not in there:
            to_sync.append(info.tag)
        elif target.override and info.digest and there[info.tag] and info.digest != there[info.tag]:
            to_sync.append(info.tag)
            differing.append(info.tag)
    return TargetPlan(
        namespace, repository, target, tuple(to_sync), len(there), tuple(differing), dict(skipped or {})
    )
