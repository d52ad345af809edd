"""Tag selection by version (shared/rules/selection.py) and its use by the rules and by push-sync."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.push_sync.decide import decide
from functions.push_sync.model import PushEvent
from shared.rules import RuleSet
from shared.rules.selection import TagInfo, VersionSelection, newest_first, order_key, parse_version
from shared.swr.errors import ConfigError

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("tag", "version"),
    [
        ("1", "1"),
        ("1.2", "1.2"),
        ("v1.2.3", "1.2.3"),
        ("1.2.3-rc.1", "1.2.3rc1"),
        ("2.0.0+build.5", "2.0.0+build.5"),
    ],
)
def test_version_tags_parse(tag: str, version: str) -> None:
    parsed = parse_version(tag)
    assert parsed is not None and str(parsed) == version


@pytest.mark.parametrize("tag", ["latest", "main", "1.2-alpine", "sha-abc123", "v", ""])
def test_other_tags_are_not_versions(tag: str) -> None:
    assert parse_version(tag) is None


def test_semver_range_excludes_prereleases_unless_asked() -> None:
    strict = VersionSelection(semver=">=1.2,<2")
    assert strict.check("1.2.0") is None and strict.check("1.9") is None
    assert "outside semver" in (strict.check("2.0.0") or "")
    assert "not a version" in (strict.check("latest") or "")
    assert "pre-release" in (strict.check("1.5.0-rc.1") or "")
    assert VersionSelection(semver=">=1.2,<2", prerelease=True).check("1.5.0-rc.1") is None


def test_latest_keeps_the_newest_by_version_then_by_push_time() -> None:
    tags = [
        TagInfo("1.10.0", T0),
        TagInfo("1.9.0", T0 + timedelta(days=3)),  # pushed later, but an older version
        TagInfo("nightly", T0 + timedelta(days=9)),
        TagInfo("2.0.0-beta", T0),
    ]
    kept, dropped = VersionSelection(latest=2).select(tags)
    assert [t.tag for t in kept] == ["1.10.0", "1.9.0"]
    assert "outside latest 2" in dropped["nightly"] and "pre-release" in dropped["2.0.0-beta"]
    only_names, _ = VersionSelection(latest=1).select([TagInfo("a", T0), TagInfo("b", T0 + timedelta(1))])
    assert [t.tag for t in only_names] == ["b"], "non-version tags by push time"


versions = st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50)).map(
    lambda v: ".".join(map(str, v))
)
names = st.text("abcdefghijklmnop-", min_size=1, max_size=8).filter(lambda t: t[0].isalpha())
infos = st.builds(
    TagInfo, st.one_of(versions, names), st.integers(0, 10_000).map(lambda s: T0 + timedelta(seconds=s))
)


@given(st.lists(infos, max_size=30))
def test_ordering_is_total_and_versions_outrank_names(tags: list[TagInfo]) -> None:
    ordered = newest_first(tags)
    keys = [order_key(t) for t in ordered]
    assert keys == sorted(keys, reverse=True)
    ranks = [parse_version(t.tag) is not None for t in ordered]
    assert ranks == sorted(ranks, reverse=True), "every version tag before every other tag"
    assert sorted(newest_first(list(reversed(tags))), key=order_key) == sorted(ordered, key=order_key)


@given(st.lists(infos, max_size=30, unique_by=lambda t: t.tag), st.integers(1, 10))
def test_latest_n_keeps_exactly_the_n_newest(tags: list[TagInfo], n: int) -> None:
    kept, dropped = VersionSelection(latest=n).select(tags)
    assert len(kept) == min(n, len(tags))
    assert set(dropped) | {t.tag for t in kept} == {t.tag for t in tags}
    if kept and dropped:
        oldest_kept = min(order_key(t) for t in kept)
        assert all(order_key(t) < oldest_kept for t in tags if t.tag in dropped)


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        ({"semver": "banana"}, "tags.semver"),
        ({"semver": ""}, "tags.semver"),
        ({"latest": 0}, "tags.latest"),
        ({"latest": True}, "tags.latest"),
        ({"prerelease": "yes"}, "tags.prerelease"),
    ],
)
def test_bad_selection_is_refused_at_load(tags: dict[str, object], problem: str) -> None:
    rules = [{"tags": tags, "targets": [{"region": "ap-southeast-1", "namespace": "dr"}]}]
    with pytest.raises(ConfigError) as err:
        RuleSet.parse(json.dumps(rules))
    assert any(problem in p for p in err.value.problems)


def push(tag: str) -> PushEvent:
    return PushEvent(namespace="team", repository="app", tag=tag)


def test_push_sync_applies_semver_and_latest_to_pushes() -> None:
    rules = RuleSet.parse(
        json.dumps(
            [
                {
                    "tags": {"semver": ">=1", "latest": 2},
                    "targets": [{"region": "ap-southeast-1", "namespace": "dr"}],
                }
            ]
        )
    )
    calls: list[tuple[str, str]] = []

    def listing(namespace: str, repository: str) -> list[TagInfo]:
        calls.append((namespace, repository))
        return [TagInfo("1.0.0", T0), TagInfo("1.1.0", T0), TagInfo("1.2.0", T0)]

    decisions = decide([push("1.2.0"), push("1.0.0"), push("0.9.0")], rules, None, listing)
    by_tag = {d.event.tag: d for d in decisions}
    assert not by_tag["1.2.0"].skipped
    assert by_tag["1.0.0"].skipped and "outside latest 2" in by_tag["1.0.0"].reason
    assert by_tag["0.9.0"].skipped and "outside semver" in by_tag["0.9.0"].reason
    assert calls == [("team", "app")], "one listing per repository"
    # a pushed tag the listing does not show yet still counts (webhook before the listing catches up)
    fresh = decide([push("1.3.0")], rules, None, listing)
    assert not fresh[0].skipped
