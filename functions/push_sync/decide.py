"""Pure decisions: normalised pushes + sync rules → per-tag targets, or the reason nothing is done."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from functions.push_sync.model import PushEvent
from shared.record import record
from shared.rules import Match, RuleSet, Target
from shared.rules.selection import TagInfo
from shared.sync.batching import SyncItem


@record(frozen=True)
class Decision:
    """What the rules decided for one pushed tag: its targets, or why it is skipped."""

    event: PushEvent
    matches: tuple[Match, ...]
    reason: str  # why skipped ("" when there are targets)
    rejections: tuple[tuple[str, str], ...] = ()  # (rule, why it did not apply), for the decision log

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(m.target for m in self.matches)

    @property
    def skipped(self) -> bool:
        return not self.matches

    def items(self) -> list[SyncItem]:
        e = self.event
        return [SyncItem.for_target(e.namespace, e.repository, e.tag, t) for t in self.targets]


def unique_events(events: Iterable[PushEvent]) -> list[PushEvent]:
    """One event per (namespace, repository, tag), in first-seen order; the last known digest wins."""
    by_key: dict[tuple[str, str, str], PushEvent] = {}
    for event in events:
        key = (event.namespace, event.repository, event.tag)
        if key not in by_key or event.identity:
            by_key[key] = event  # an existing key keeps its first-seen position
    return list(by_key.values())


RepoListing = Callable[[str, str], Sequence[TagInfo]]


def decide(
    events: Iterable[PushEvent],
    rules: RuleSet,
    source_region: str | None = None,
    listing: RepoListing | None = None,
) -> list[Decision]:
    """A decision per unique pushed tag. Targets equal to the source itself (same region and namespace as the
    push, when ``source_region`` is known) are dropped: syncing an image onto itself is a loop.
    ``listing(namespace, repository)`` gives a repository's tags for rules keeping the ``latest`` N; it is
    called at most once per repository."""
    decisions: list[Decision] = []
    listed: dict[tuple[str, str], Sequence[TagInfo]] = {}

    def repo_listing(namespace: str, repository: str) -> Callable[[], Sequence[TagInfo]] | None:
        if listing is None:
            return None

        def get() -> Sequence[TagInfo]:
            key = (namespace, repository)
            if key not in listed:
                listed[key] = listing(namespace, repository)
            return listed[key]

        return get

    for event in unique_events(events):
        evaluation = rules.evaluate(
            event.namespace, event.repository, event.tag, repo_listing(event.namespace, event.repository)
        )
        matches = evaluation.matches
        loop = tuple(
            m for m in matches if source_region and m.target.destination == (source_region, event.namespace)
        )
        matches = tuple(m for m in matches if m not in loop)
        reason = ""
        if not matches:
            if loop:
                reason = "the only matching targets are the source repository itself"
            elif not rules:
                reason = "no sync rules configured"
            else:
                reason = "no rule matched: " + _first(evaluation.rejections)
        decisions.append(Decision(event, matches, reason, evaluation.rejections))
    return decisions


MAX_REASONS = 5  # per skipped tag in the answer; the decision log line lists up to 20 (``rules_not_applied``)


def _first(rejections: tuple[tuple[str, str], ...]) -> str:
    """The first rules' reasons: an answer must not grow with the number of rules (1,000 skipped tags x 200
    rules made a 9.5 MB answer, beyond what APIG and FunctionGraph return)."""
    shown = "; ".join(f"{label}: {why}" for label, why in rejections[:MAX_REASONS])
    more = len(rejections) - MAX_REASONS
    return f"{shown}; and {more} more rule(s)" if more > 0 else shown


def sync_items(decisions: Iterable[Decision]) -> list[SyncItem]:
    out: list[SyncItem] = []
    for decision in decisions:
        out.extend(decision.items())
    return out
