"""Pattern matching in time linear in the input, whoever wrote the pattern (configuration, a query string, a
timer's overrides).

- Globs (``*``, ``**``, ``?``, ``{a,b}``) run on :class:`GlobMatcher`, a Thompson NFA simulated one character
  at a time over a set of states: O(len(text) x len(pattern)) by construction, never backtracking. Python's
  ``re`` needs exponential or high-polynomial time for globs such as ``*a*a*a*a*a*b`` on ``aaaa...``.
- Regexes (``re:<regex>``, tag include/exclude) run on RE2 (``google-re2``), linear in the input for any
  pattern; it is imported on first use only, so a configuration without a regex never pays for it. A regex RE2
  cannot run (a backreference, a lookaround) is refused when it is compiled: at load for configuration, as a
  400 for a request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

MAX_PATTERN_LEN = 512
# RE2 compiles to an automaton bounded in memory: a pattern that would need more is refused, not run slowly.
RE2_MAX_MEM = 8 << 20


class PatternError(ValueError):
    """The pattern is invalid or the linear-time engine cannot run it; the message says why."""


class Matcher(Protocol):
    pattern: str

    def fullmatch(self, text: str) -> Any:
        """Truthy if ``text`` matches the whole pattern."""


# -- globs --------------------------------------------------------------------------------------------------

# Tokens of a glob: ("lit", c), ("one",) any char but "/", ("star",) any run without "/", ("dstar",) any run,
# ("dir",) "**/" at a segment start: zero or more whole segments, ("open",), ("alt",), ("close",).
Token = tuple[str, ...]
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


def glob_tokens(glob: str, allow_slash: bool = True) -> list[Token]:
    """The tokens of ``glob``; PatternError on bad syntax (the messages users see in config errors)."""
    if not glob:
        raise PatternError("empty pattern")
    if len(glob) > MAX_PATTERN_LEN:
        raise PatternError(f"pattern longer than {MAX_PATTERN_LEN} characters")
    allowed = _NAME_CHARS | ({"/"} if allow_slash else set())
    out: list[Token] = []
    depth = 0
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "*":
            if glob.startswith("***", i):
                raise PatternError(f"bad glob {glob!r}: '***' at position {i} (use '*' or '**')")
            if glob.startswith("**", i):
                if not allow_slash:
                    raise PatternError(
                        f"bad glob {glob!r}: '**' makes no sense in a namespace (no '/'), use '*'"
                    )
                segment_start = i == 0 or glob[i - 1] in "/{,"
                if segment_start and glob.startswith("**/", i):
                    out.append(("dir",))
                    i += 3
                else:
                    out.append(("dstar",))
                    i += 2
                continue
            out.append(("star",))
        elif c == "?":
            out.append(("one",))
        elif c == "{":
            depth += 1
            out.append(("open",))
        elif c == "}":
            if depth == 0:
                raise PatternError(f"bad glob {glob!r}: unmatched '}}' at position {i}")
            depth -= 1
            out.append(("close",))
        elif c == ",":
            if depth == 0:
                raise PatternError(f"bad glob {glob!r}: ',' outside '{{...}}' at position {i}")
            out.append(("alt",))
        elif c in allowed:
            out.append(("lit", c))
        elif c == "/":
            raise PatternError(f"bad glob {glob!r}: a namespace has no '/'")
        elif c.isupper():
            raise PatternError(f"bad glob {glob!r}: {c!r} is upper case (SWR names are lower case)")
        else:
            raise PatternError(
                f"bad glob {glob!r}: character {c!r} at position {i} not allowed "
                f"(names use a-z 0-9 . _ -{' /' if allow_slash else ''}, wildcards * ** ? {{a,b}}, "
                f"or write re:<regex>)"
            )
        i += 1
    if depth:
        raise PatternError(f"bad glob {glob!r}: unclosed '{{'")
    return out


_REGEX_OF = {
    "one": "[^/]",
    "star": "[^/]*",
    "dstar": ".*",
    "dir": "(?:.*/)?",
    "open": "(?:",
    "alt": "|",
    "close": ")",
}


def glob_regex(tokens: Sequence[Token]) -> str:
    """The equivalent regex text (for documentation and tests; matching never uses it)."""
    return "".join(re.escape(t[1]) if t[0] == "lit" else _REGEX_OF[t[0]] for t in tokens)


# NFA states: (kind, arg, out1, out2). kind "char" consumes arg; "notslash" / "any" consume one character;
# "split" goes to out1 and out2 without consuming; "match" accepts.
_State = tuple[str, str, int, int]
_STEP_CACHE_MAX = 4096  # cached (state set, character) transitions per glob


class GlobMatcher:
    """A glob compiled to a Thompson NFA; :meth:`fullmatch` simulates it over sets of states, one character at
    a time (O(len(pattern)) per character at worst). The transitions met are cached (a lazy DFA, at most
    :data:`_STEP_CACHE_MAX` of them), so a warm matcher costs about a dict lookup per character."""

    def __init__(self, glob: str, allow_slash: bool = True) -> None:
        self.pattern = glob
        self._states: list[_State] = [("match", "", -1, -1)]
        tokens = glob_tokens(glob, allow_slash)
        start, rest = self._sequence(tokens, 0, 0)
        assert rest == len(tokens)  # glob_tokens checked the braces
        self._start = self._closure({start})
        self._steps: dict[tuple[frozenset[int], str], frozenset[int]] = {}

    def _add(self, state: _State) -> int:
        self._states.append(state)
        return len(self._states) - 1

    def _sequence(self, tokens: Sequence[Token], pos: int, follow: int) -> tuple[int, int]:
        """Compile tokens from ``pos`` to the end of the current alternative, continuing to ``follow``.

        Built back to front (each piece needs the state after it), so the pieces are collected first.
        """
        pieces: list[Any] = []
        while pos < len(tokens) and tokens[pos][0] not in ("alt", "close"):
            if tokens[pos][0] == "open":
                alternatives: list[list[Any]] = []
                pos += 1
                while True:
                    end = self._scan_alternative(tokens, pos)
                    alternatives.append(list(tokens[pos:end]))
                    pos = end + 1
                    if tokens[end][0] == "close":
                        break
                pieces.append(("group", alternatives))
            else:
                pieces.append(tokens[pos])
                pos += 1
        state = follow
        for piece in reversed(pieces):
            state = self._piece(piece, state)
        return state, pos

    @staticmethod
    def _scan_alternative(tokens: Sequence[Token], pos: int) -> int:
        """Index of the "alt" or "close" that ends the alternative starting at ``pos`` (same depth)."""
        depth = 0
        while True:
            kind = tokens[pos][0]
            if kind == "open":
                depth += 1
            elif kind == "close":
                if depth == 0:
                    return pos
                depth -= 1
            elif kind == "alt" and depth == 0:
                return pos
            pos += 1

    def _piece(self, piece: Any, follow: int) -> int:
        kind = piece[0]
        if kind == "lit":
            return self._add(("char", piece[1], follow, -1))
        if kind == "one":
            return self._add(("notslash", "", follow, -1))
        if kind in ("star", "dstar"):
            loop = self._add(("split", "", -1, follow))
            body = self._add(("notslash" if kind == "star" else "any", "", loop, -1))
            self._states[loop] = ("split", "", body, follow)
            return loop
        if kind == "dir":  # (?:.*/)?
            slash = self._add(("char", "/", follow, -1))
            loop = self._add(("split", "", -1, slash))
            body = self._add(("any", "", loop, -1))
            self._states[loop] = ("split", "", body, slash)
            return self._add(("split", "", loop, follow))
        # a group: one split per alternative, each alternative continuing to ``follow``
        starts = [self._sequence(alt, 0, follow)[0] for alt in piece[1]]
        state = starts[-1]
        for start in reversed(starts[:-1]):
            state = self._add(("split", "", start, state))
        return state

    def _closure(self, states: set[int]) -> frozenset[int]:
        """Every state reachable from ``states`` without consuming a character."""
        stack = list(states)
        seen = set(states)
        while stack:
            kind, _, out1, out2 = self._states[stack.pop()]
            if kind == "split":
                for nxt in (out1, out2):
                    if nxt not in seen:
                        seen.add(nxt)
                        stack.append(nxt)
        return frozenset(seen)

    def fullmatch(self, text: str) -> bool:
        current = self._start
        cache = self._steps
        for c in text:
            nxt = cache.get((current, c))
            if nxt is None:
                nxt = self._step(current, c)
                if len(cache) < _STEP_CACHE_MAX:  # a lazy DFA, bounded: memory never grows with input
                    cache[(current, c)] = nxt
            if not nxt:
                return False
            current = nxt
        return 0 in current  # state 0 is the match state

    def _step(self, current: frozenset[int], c: str) -> frozenset[int]:
        step: set[int] = set()
        for index in current:
            kind, arg, out1, _ = self._states[index]
            if (kind == "char" and arg == c) or kind == "any" or (kind == "notslash" and c != "/"):
                step.add(out1)
        return self._closure(step) if step else frozenset()


# -- regexes ------------------------------------------------------------------------------------------------

_re2_module: Any = None


def _re2() -> Any:
    """google-re2, imported on the first regex (about 3 ms and 2 MB: see docs/import-cost.md)."""
    global _re2_module
    if _re2_module is None:
        try:
            import re2
        except ImportError as err:  # pragma: no cover - a declared dependency; only a broken install
            raise PatternError("regexes need the google-re2 package, which is not installed") from err
        _re2_module = re2
    return _re2_module


class RegexMatcher:
    """An RE2 regex, full matches only."""

    def __init__(self, pattern: str, compiled: Any) -> None:
        self.pattern = pattern
        self._compiled = compiled

    def fullmatch(self, text: str) -> bool:
        try:
            return self._compiled.fullmatch(text) is not None
        except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800" from a server): no UTF-8, no match
            return False


def compile_regex(text: str) -> RegexMatcher:
    """``text`` compiled by RE2 (full matches run in linear time); PatternError if RE2 cannot run it."""
    if not text:
        raise PatternError("empty regex")
    if len(text) > MAX_PATTERN_LEN:
        raise PatternError(f"regex longer than {MAX_PATTERN_LEN} characters ({len(text)})")
    re2 = _re2()
    options = re2.Options()
    options.max_mem = RE2_MAX_MEM
    options.log_errors = False
    try:
        return RegexMatcher(text, re2.compile(text, options))
    except re2.error:
        pass
    # Why not? Python's parser (compiling only; nothing is ever matched with it) names a syntax error.
    try:
        re.compile(text)
    except re.error as err:
        raise PatternError(f"bad regex {_show(text)}: {err}".replace("; ", ", ")) from None
    except (RecursionError, OverflowError, MemoryError):
        raise PatternError(f"bad regex {_show(text)}: nested or repeated too much") from None
    raise PatternError(
        f"regex {_show(text)} cannot run in linear time: backreferences, lookahead/lookbehind and "
        "possessive or atomic groups are not supported, nor repetitions too large for the matcher's "
        "memory (rewrite it without them)"
    )


def _show(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
