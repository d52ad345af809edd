"""shared.lazyre: a pattern compiled on first use answers like the compiled pattern."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from shared.lazyre import lazy

PATTERNS = [
    r"(\d+(?:\.\d+)?)(ms|s|m|h)",
    r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}",
    r"[\ud800-\udfff]",
]


@given(st.sampled_from(PATTERNS), st.text(max_size=40))
def test_lazy_pattern_matches_like_re_compile(pattern: str, text: str) -> None:
    compiled, deferred = re.compile(pattern), lazy(pattern)

    def spans(m: re.Match[str] | None) -> tuple[int, int] | None:
        return m.span() if m else None

    assert spans(deferred.match(text)) == spans(compiled.match(text))
    assert spans(deferred.fullmatch(text)) == spans(compiled.fullmatch(text))
    assert spans(deferred.search(text)) == spans(compiled.search(text))
    assert [m.span() for m in deferred.finditer(text)] == [m.span() for m in compiled.finditer(text)]
    assert deferred.sub("x", text) == compiled.sub("x", text)
    assert deferred.split(text) == compiled.split(text)  # the rest of re.Pattern, through the compiled one
    assert deferred.groups == compiled.groups and deferred.pattern == pattern


def test_compiled_once_on_first_use() -> None:
    deferred = lazy(r"a+")
    assert deferred._compiled is None  # nothing compiled at definition
    first = deferred.compiled
    assert deferred.fullmatch("aaa") and deferred.compiled is first
