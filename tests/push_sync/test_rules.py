"""shared.rules: parsing, glob/regex patterns, matching, precise errors, loading."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.rules import (
    MAX_REGEX_LEN,
    Match,
    RuleError,
    RuleSet,
    Target,
    compile_pattern,
    compile_regex,
    load_rules,
)
from shared.runtime.config import env_lookup, load_settings
from shared.swr.errors import ConfigError
from tests.push_sync.conftest import base_env

T1 = {"region": "ap-southeast-1", "namespace": "demo"}
T2 = {"region": "ap-southeast-3", "namespace": "backup", "override": True}


def lookup(values: dict[str, str]) -> Callable[[str], str | None]:
    return values.get


def rules(*items: dict) -> RuleSet:
    return RuleSet.parse(json.dumps(list(items)))


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        RuleSet.parse(text)
    return info.value.problems


# -- patterns -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("glob", "slash", "yes", "no"),
    [
        ("*", False, ["demo", "a.b-c_d"], []),
        ("*", True, ["app"], ["team/app"]),
        ("**", True, ["app", "team/app", "a/b/c"], []),
        ("team/*", True, ["team/app"], ["team/a/b", "team", "other/app"]),
        ("team/**", True, ["team/app", "team/a/b"], ["team", "teams/app"]),
        ("**/app", True, ["app", "team/app", "a/b/app"], ["team/app2", "xapp"]),
        ("a/**/z", True, ["a/z", "a/b/z", "a/b/c/z"], ["a/bz"]),
        ("app?", True, ["app1", "appx"], ["app", "app12", "app/"]),
        ("{web,api}-*", True, ["web-1", "api-x"], ["db-1"]),
        ("{team/{a,b},ops}", True, ["team/a", "team/b", "ops"], ["team/c"]),
        ("prod-{eu,cn}", False, ["prod-eu", "prod-cn"], ["prod-us"]),
        ("re:team/(app|api)[0-9]*", True, ["team/app", "team/api42"], ["team/db"]),
    ],
)
def test_globs(glob: str, slash: bool, yes: list[str], no: list[str]) -> None:
    pattern = compile_pattern(glob, allow_slash=slash)
    for value in yes:
        assert pattern.matches(value), (glob, value)
    for value in no:
        assert not pattern.matches(value), (glob, value)


@pytest.mark.parametrize(
    ("glob", "slash", "fragment"),
    [
        ("", True, "empty pattern"),
        ("{a,b", True, "unclosed '{'"),
        ("a}", True, "unmatched '}'"),
        ("a,b", True, "',' outside"),
        ("***", True, "'***'"),
        ("**", False, "makes no sense in a namespace"),
        ("a/b", False, "a namespace has no '/'"),
        ("Team", True, "upper case"),
        ("a b", True, "character ' ' at position 1 not allowed"),
        ("a[bc]", True, "character '[' at position 1"),
        ("re:(", True, "bad regex"),
        ("re:", True, "empty regex"),
    ],
)
def test_bad_globs(glob: str, slash: bool, fragment: str) -> None:
    with pytest.raises(RuleError) as info:
        compile_pattern(glob, allow_slash=slash)
    assert fragment in str(info.value)


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_glob_translation_never_crashes(text: str) -> None:
    try:
        pattern = compile_pattern(text, allow_slash=True)
    except RuleError:
        return
    pattern.matches("team/app")


# -- regex safety -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "regex",
    [
        r"v\d+(\.\d+)*",
        r"[a-z]+(-[a-z0-9]+)*",
        r"(\.\d+|-rc\d+)*",
        r"(a*b)*",
        r"v[0-9]+\.[0-9]+\.[0-9]+(-.*)?",
        "latest|stable",
    ],
)
def test_safe_regexes_accepted(regex: str) -> None:
    compile_regex(regex)


@pytest.mark.parametrize(
    "regex", ["(a+)+b", "(.*)*", r"(\w+\.?)+", "(a|aa)+", "(a|a)*b", "(.+-)*", "(x+){2,9}", "(x|y|)+"]
)
def test_catastrophic_backtracking_regexes_run_in_linear_time(regex: str) -> None:
    # Refused by the former hand-written backtracking check; the linear-time engine (RE2) runs them safely,
    # so they are accepted and stay fast on the inputs that made Python's re take exponential time.
    compiled = compile_regex(regex)
    for text in ["a" * 5_000 + "!", "x" * 5_000 + "!", "aaaa-" * 1_000 + "!", "ab." * 2_000 + "!"]:
        started = time.monotonic()
        compiled.fullmatch(text)
        assert time.monotonic() - started < 0.05, (regex, text[:10])


@pytest.mark.parametrize(
    ("regex", "why"), [(r"(a)\1", "backreferences"), ("(?=a)a", "lookahead"), ("(?<!x)a", "lookahead")]
)
def test_regexes_the_linear_engine_cannot_run_are_refused(regex: str, why: str) -> None:
    with pytest.raises(RuleError, match=f"cannot run in linear time: .*{why}"):
        compile_regex(regex)


def test_accepted_regexes_are_fast_on_adversarial_input() -> None:
    # What passes the check stays fast on the inputs it will see (names/tags up to 128 characters).
    for regex in [r"v\d+(\.\d+)*", r"[a-z]+(-[a-z0-9]+)*", r"(a*b)*"]:
        compiled = compile_regex(regex)
        for text in ["v" + "1." * 63 + "x", "a-" * 63 + "!", "a" * 127 + "c"]:
            started = time.monotonic()
            compiled.fullmatch(text)
            assert time.monotonic() - started < 0.05


def test_regex_length_limit() -> None:
    with pytest.raises(RuleError, match="longer than 512"):
        compile_regex("a" * (MAX_REGEX_LEN + 1))
    compile_regex("a" * MAX_REGEX_LEN)


# -- matching -----------------------------------------------------------------------------------------------


def test_match_merges_targets_and_names_contributing_rules() -> None:
    rs = rules(
        {"name": "apps", "namespace": "demo", "repository": "team/**", "targets": [T1]},
        {"repository": "**", "targets": [T1 | {"override": True}, T2]},
        {"name": "never", "namespace": "other", "targets": [T2]},
    )
    assert rs.match("demo", "team/app", "v1") == [
        Match(Target("ap-southeast-1", "demo", True), ("apps", "rules[1]")),
        Match(Target("ap-southeast-3", "backup", True), ("rules[1]",)),
    ]
    evaluation = rs.evaluate("demo", "team/app", "v1")
    assert evaluation.rejections == (("never", "namespace does not match 'other'"),)


def test_tag_filters_full_match() -> None:
    rs = rules(
        {
            "name": "r",
            "tags": {"include": [r"v\d+(\.\d+)*", "re:latest"], "exclude": [r".*\.0"]},
            "targets": [T1],
        }
    )
    assert rs.match("demo", "app", "v1.2")
    assert rs.match("demo", "app", "latest")
    assert not rs.match("demo", "app", "v1.2-rc1")  # include is a full match
    assert not rs.match("demo", "app", "xv1")
    assert not rs.match("demo", "app", "v1.0")  # excluded
    reason = rs.evaluate("demo", "app", "v1.0").rejections[0][1]
    assert reason == r"tag matches exclude regex '.*\\.0'"
    assert rs.evaluate("demo", "app", "dev").rejections[0][1] == "tag matches no include regex"


def test_desired_targets_ignore_tag_filters() -> None:
    rs = rules(
        {"repository": "team/**", "tags": {"include": ["v.*"]}, "targets": [T1]},
        {"namespace": "demo", "tags": {"exclude": [".*"]}, "targets": [T2]},
        {"namespace": "other", "targets": [{"region": "cn-north-4", "namespace": "x"}]},
    )
    assert rs.desired_targets("demo", "team/app") == {
        Target("ap-southeast-1", "demo"),
        Target("ap-southeast-3", "backup", True),
    }
    assert rs.desired_targets("demo", "solo") == {Target("ap-southeast-3", "backup", True)}
    assert rs.desired_targets("nobody", "x/y") == set()


def test_target_is_frozen_and_hashable() -> None:
    t = Target("cn-north-4", "demo")
    with pytest.raises(AttributeError):
        t.region = "x"  # type: ignore[misc]
    assert {t, Target("cn-north-4", "demo")} == {t}
    assert t.to_dict() == {"region": "cn-north-4", "namespace": "demo", "override": False}


def test_rules_object_form_and_empty() -> None:
    assert len(RuleSet.parse(json.dumps({"rules": [{"targets": [T1]}]}))) == 1
    assert not RuleSet.parse("[]")


# -- errors -------------------------------------------------------------------------------------------------


def test_invalid_json() -> None:
    (p,) = problems("[{")
    assert p.startswith("SYNC_RULES: invalid JSON: ")


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"x": 1}, "SYNC_RULES: unknown top-level key(s) ['x']"),
        ("rules", "SYNC_RULES: expected a JSON list of rules"),
        ([1], "SYNC_RULES: rules[0]: must be an object, got int"),
        ([{"targets": [T1], "namespaces": "x"}], "SYNC_RULES: rules[0]: unknown key(s) ['namespaces']"),
        ([{"targets": []}], "SYNC_RULES: rules[0].targets: must be a non-empty list"),
        (
            [{"name": "a", "targets": [{"region": "mars", "namespace": "demo"}]}],
            "SYNC_RULES: rules[0] (name 'a').targets[0].region: invalid region id 'mars'",
        ),
        (
            [{"targets": [{"region": "cn-north-4", "namespace": "Demo"}]}],
            "SYNC_RULES: rules[0].targets[0].namespace: invalid namespace 'Demo'",
        ),
        ([{"targets": [{"region": "cn-north-4", "namespace": "a--b"}]}], "rule: adjacent-separators"),
        (
            [{"targets": [T1 | {"override": "yes"}]}],
            "SYNC_RULES: rules[0].targets[0].override: must be true or false",
        ),
        ([{"targets": [T1 | {"regoin": "x"}]}], "SYNC_RULES: rules[0].targets[0]: unknown key(s) ['regoin']"),
        (
            [{"name": "b", "tags": {"include": ["("]}, "targets": [T1]}],
            "SYNC_RULES: rules[0] (name 'b').tags.include[0]: bad regex '('",
        ),
        (
            [{"tags": {"exclude": ["(a)\\1"]}, "targets": [T1]}],
            "SYNC_RULES: rules[0].tags.exclude[0]: regex '(a)\\\\1' cannot run in linear time",
        ),
        (
            [{"tags": {"include": ["a" * 600]}, "targets": [T1]}],
            "tags.include[0]: regex longer than 512 characters",
        ),
        ([{"tags": {"only": ["x"]}, "targets": [T1]}], "SYNC_RULES: rules[0].tags: unknown key(s) ['only']"),
        ([{"tags": ["x"], "targets": [T1]}], "SYNC_RULES: rules[0].tags: must be an object"),
        (
            [{"repository": "{a", "targets": [T1]}],
            "SYNC_RULES: rules[0].repository: bad glob '{a': unclosed '{'",
        ),
        (
            [{"namespace": "", "targets": [T1]}],
            "SYNC_RULES: rules[0].namespace: must be a non-empty string pattern",
        ),
        ([{"name": "", "targets": [T1]}], "SYNC_RULES: rules[0].name: must be a non-empty string"),
        (
            [{"name": "x", "targets": [T1]}, {"name": "x", "targets": [T1]}],
            "SYNC_RULES: rules[1] (name 'x').name: duplicate of rules[0]",
        ),
    ],
)
def test_precise_errors(doc: object, expected: str) -> None:
    found = problems(json.dumps(doc))
    assert any(expected in p for p in found), found
    assert all("; " not in p for p in found)  # load_settings splits problems on "; "


def test_every_problem_is_listed() -> None:
    found = problems(
        json.dumps(
            [
                {"name": "one", "repository": "{", "targets": [{"region": "x", "namespace": "ok"}]},
                {"name": "two", "tags": {"include": ["["]}, "targets": [T1]},
            ]
        )
    )
    assert len(found) == 3
    assert [p.split(".")[0] for p in found] == [
        "SYNC_RULES: rules[0] (name 'one')",
        "SYNC_RULES: rules[0] (name 'one')",
        "SYNC_RULES: rules[1] (name 'two')",
    ]


# -- loading ------------------------------------------------------------------------------------------------


def test_load_rules_from_env_and_file(tmp_path: Path) -> None:
    text = json.dumps([{"targets": [T1]}])
    assert len(load_rules(env_lookup(environ={"SYNC_RULES": text}))) == 1
    path = tmp_path / "rules.json"
    path.write_text(text)
    # env_lookup also resolves SYNC_RULES_FILE into SYNC_RULES: the same text is not a conflict
    assert len(load_rules(env_lookup(environ={"SYNC_RULES_FILE": str(path)}))) == 1
    assert len(load_rules(lookup({"SYNC_RULES_FILE": str(path)}))) == 1
    assert not load_rules(lookup({}), required=False)


def test_load_rules_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SYNC_RULES: required"):
        load_rules(lookup({}))
    with pytest.raises(
        ConfigError, match=r"SYNC_RULES_FILE: cannot read '/nonexistent/rules.json': No such file"
    ):
        load_rules(env_lookup(environ={"SYNC_RULES_FILE": "/nonexistent/rules.json"}))
    path = tmp_path / "rules.json"
    path.write_text("[{]")
    with pytest.raises(ConfigError) as info:
        load_rules(lookup({"SYNC_RULES_FILE": str(path)}))
    assert info.value.problems[0].startswith(f"SYNC_RULES_FILE ({path}): invalid JSON")
    with pytest.raises(ConfigError, match="both set"):
        load_rules(lookup({"SYNC_RULES": "[]", "SYNC_RULES_FILE": str(path)}))


def test_rules_validated_with_settings_at_cold_start() -> None:
    from functions.push_sync.settings import PushSyncSettings

    env = base_env(
        SYNC_RULES=[{"targets": [{"region": "nowhere", "namespace": "demo"}]}], SYNC_CONCURRENCY="0"
    )
    with pytest.raises(ConfigError) as info:
        load_settings(PushSyncSettings, env_lookup(environ=env))
    assert (
        "SYNC_RULES: rules[0].targets[0].region: invalid region id 'nowhere' (expected e.g. 'cn-north-4')"
        in info.value.problems
    )
    assert "SYNC_CONCURRENCY: Input should be greater than or equal to 1" in info.value.problems
