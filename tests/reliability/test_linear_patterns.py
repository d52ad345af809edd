"""Patterns in linear time: whoever writes a glob or a regex (configuration, a query string, a timer's
overrides), matching it takes time linear in the input. Measured from the outside, by the wall clock: the time
for an input 8 times longer stays within a linear bound of the time for the shorter one (a quadratic matcher
would take 64 times longer, a backtracking one far more)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shared.rules import RuleError, compile_pattern, compile_regex

SHORT, LONG = 300, 2_400  # LONG = 8 x SHORT


def _best_of(fn: Callable[[], object], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _assert_linear(match: Callable[[str], object], unit: str, tail: str) -> None:
    short, long = unit * (SHORT // len(unit)) + tail, unit * (LONG // len(unit)) + tail
    t_short = _best_of(lambda: match(short))
    t_long = _best_of(lambda: match(long))
    # 8x the input: linear is 8x; allow 3x noise on a shared machine plus a fixed 5 ms floor.
    assert t_long <= 24 * t_short + 0.005, f"{t_short * 1e3:.2f} ms -> {t_long * 1e3:.2f} ms"


GLOB_PIECES = ["*", "**", "?", "a", "a", "b", "/", "-", "{a,", "{a*,", ",", "}", "**/", "{*,?}"]
INPUT_UNITS = ["a", "aa/", "ab", "a-", "a/b"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(
    st.lists(st.sampled_from(GLOB_PIECES), min_size=1, max_size=14).map("".join),
    st.sampled_from(INPUT_UNITS),
    st.sampled_from(["", "!", "b", "/"]),
)
def test_glob_match_time_is_linear_in_the_input(glob: str, unit: str, tail: str) -> None:
    try:
        pattern = compile_pattern(glob, allow_slash=True)
    except RuleError:
        assume(False)
        return
    _assert_linear(pattern.matches, unit, tail)


REGEX_PIECES = [
    "(a+)+",
    "(a|aa)*",
    "(.*)*",
    ".*",
    "a?",
    "a{2,5}",
    "(a|b|)+",
    r"(\w+\.?)+",
    "[ab]*",
    "b",
    "-",
    "x",
]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(
    st.lists(st.sampled_from(REGEX_PIECES), min_size=1, max_size=8).map("".join),
    st.sampled_from(INPUT_UNITS),
    st.sampled_from(["", "!", "b"]),
)
def test_regex_match_time_is_linear_in_the_input(regex: str, unit: str, tail: str) -> None:
    try:
        compiled = compile_regex(regex)
    except RuleError:
        assume(False)
        return
    _assert_linear(compiled.fullmatch, unit, tail)


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("*a*a*a*a*a*a*a*b", "a" * 20_000),  # polynomial (n^7) with a backtracking translation
        ("**a**a**a**a**b", "a/" * 10_000),
        ("{a,a*,*a}{a,a*,*a}{a,a*,*a}{a,a*,*a}z", "a" * 20_000),
        ("re:(a+)+b", "a" * 20_000),  # exponential with Python's re
        ("re:(a|aa)*c", "a" * 20_000),
        ("re:(.*)*x", "y" * 20_000),
    ],
)
def test_classic_blowups_end_fast(pattern: str, text: str) -> None:
    compiled = compile_pattern(pattern, allow_slash=True)
    started = time.perf_counter()
    assert not compiled.matches(text)
    assert time.perf_counter() - started < 2.0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    st.lists(st.sampled_from(GLOB_PIECES), min_size=1, max_size=8).map("".join),
    st.text(alphabet="ab/-", max_size=10),
)
def test_the_glob_nfa_matches_exactly_what_the_documented_regex_matches(glob: str, text: str) -> None:
    import re

    from shared.rules import glob_to_regex

    try:
        pattern = compile_pattern(glob, allow_slash=True)
    except RuleError:
        assume(False)
        return
    # Python's re is safe here: the inputs are at most 10 characters.
    assert pattern.matches(text) == bool(re.fullmatch(glob_to_regex(glob), text)), (glob, text)


def test_a_pattern_the_engine_cannot_run_in_a_manual_monitor_call_is_a_400() -> None:
    from functions.job_monitor.settings import MonitorSettings
    from functions.job_monitor.trigger import BadRequest, Overrides, options

    settings = MonitorSettings.model_validate(
        {"SWR_ENDPOINT": "http://127.0.0.1:9", "SWR_AUTH_TOKEN": "t" * 40, "MONITOR_REPOS": "demo/app"}
    )
    with pytest.raises(BadRequest) as info:
        options(settings, Overrides(repos=["demo/re:(a)\\1"]), "http", [])
    assert info.value.status == 400
    assert "cannot run in linear time" in " ".join(info.value.problems)
    # A pattern that used to backtrack is simply accepted: its matching is linear now.
    opts = options(settings, Overrides(repos=["demo/re:(a+)+b"]), "http", [])
    assert opts.repos == ["demo/re:(a+)+b"]
