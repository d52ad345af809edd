"""A strict parser for the YAML subset template.yaml and stack.yaml are written in (no PyYAML in the venv).

Supported: block mappings and block sequences by indentation, ``- key: value`` items, comments, plain scalars
(``true``/``false``, ``null``/``~``, integers, floats, else strings), single- and double-quoted scalars, and the
empty flow collections ``[]`` / ``{}``. Anything else (anchors, tags, flow collections with content, block
scalars, multi-line plain scalars, tabs, duplicate keys) raises :class:`YamlSubsetError`, so a structure test can
never pass on a misread file. When PyYAML happens to be installed, the tests compare both readings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


class YamlSubsetError(ValueError):
    pass


@dataclass
class _Line:
    number: int
    indent: int
    text: str  # without indentation and comment


_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
_KEY = re.compile(r"""([A-Za-z0-9_.${}/-][^:#'"]*?|"[^"]*"|'[^']*'):(?:\s+(.*))?$""")


def _strip_comment(text: str, number: int) -> str:
    out = []
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            out.append(ch)
            if ch == quote:
                if quote == "'" and i + 1 < len(text) and text[i + 1] == "'":
                    out.append("'")
                    i += 1
                else:
                    quote = None
            elif ch == "\\" and quote == '"' and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
        elif ch in "'\"" and (not out or out[-1] in " :-[{,"):
            quote = ch
            out.append(ch)
        elif ch == "#" and (not out or out[-1] in " \t"):
            break
        else:
            out.append(ch)
        i += 1
    if quote:
        raise YamlSubsetError(f"line {number}: unterminated quoted scalar")
    return "".join(out).rstrip()


def _lines(text: str) -> list[_Line]:
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlSubsetError(f"line {number}: tab in indentation")
        stripped = raw.lstrip(" ")
        if stripped.startswith("#") or not stripped.strip():
            continue
        if stripped.startswith(("---", "...")) and raw == stripped:
            raise YamlSubsetError(f"line {number}: document markers are outside the subset")
        body = _strip_comment(stripped, number)
        if body:
            lines.append(_Line(number, len(raw) - len(stripped), body))
    return lines


def scalar(text: str, number: int = 0) -> Any:
    text = text.strip()
    if not text:
        return None
    if text[0] in "&*!|>%@`":
        raise YamlSubsetError(f"line {number}: {text[0]!r} constructs are outside the subset: {text!r}")
    if text[0] == "'":
        if len(text) < 2 or text[-1] != "'":
            raise YamlSubsetError(f"line {number}: bad single-quoted scalar {text!r}")
        return text[1:-1].replace("''", "'")
    if text[0] == '"':
        if len(text) < 2 or text[-1] != '"':
            raise YamlSubsetError(f"line {number}: bad double-quoted scalar {text!r}")
        try:
            return json.loads(text)
        except ValueError as err:
            raise YamlSubsetError(
                f"line {number}: double-quoted escapes outside the subset: {text!r}"
            ) from err
    if text in ("[]", "{}"):
        return [] if text == "[]" else {}
    if text[0] in "[{":
        raise YamlSubsetError(f"line {number}: flow collections with content are outside the subset")
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if text in ("null", "Null", "NULL", "~"):
        return None
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if ": " in text or text.endswith(":"):
        raise YamlSubsetError(f"line {number}: ambiguous plain scalar (quote it): {text!r}")
    return text


def _key(text: str, number: int) -> str:
    key = scalar(text, number)
    if not isinstance(key, str):
        raise YamlSubsetError(f"line {number}: keys must be strings here, got {key!r}")
    return key


def _parse_block(lines: list[_Line], pos: int, indent: int) -> tuple[Any, int]:
    first = lines[pos]
    if first.text.startswith("- ") or first.text == "-":
        return _parse_seq(lines, pos, indent)
    return _parse_map(lines, pos, indent)


def _value_after(
    lines: list[_Line], pos: int, indent: int, inline: str | None, number: int
) -> tuple[Any, int]:
    if inline is not None and inline != "":
        return scalar(inline, number), pos + 1
    nxt = pos + 1
    if nxt < len(lines) and (
        lines[nxt].indent > indent or (lines[nxt].indent == indent and lines[nxt].text.startswith("- "))
    ):
        return _parse_block(lines, nxt, lines[nxt].indent)
    return None, nxt


def _parse_map(lines: list[_Line], pos: int, indent: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    while pos < len(lines) and lines[pos].indent == indent and not lines[pos].text.startswith("- "):
        line = lines[pos]
        match = _KEY.match(line.text)
        if not match:
            raise YamlSubsetError(f"line {line.number}: expected 'key: value', got {line.text!r}")
        key = _key(match.group(1), line.number)
        if key in out:
            raise YamlSubsetError(f"line {line.number}: duplicate key {key!r}")
        out[key], pos = _value_after(lines, pos, indent, match.group(2), line.number)
    if pos < len(lines) and lines[pos].indent > indent:
        raise YamlSubsetError(f"line {lines[pos].number}: unexpected indentation")
    return out, pos


def _parse_seq(lines: list[_Line], pos: int, indent: int) -> tuple[list[Any], int]:
    out: list[Any] = []
    while pos < len(lines) and lines[pos].indent == indent and lines[pos].text.startswith("-"):
        line = lines[pos]
        rest = line.text[1:]
        if rest and not rest.startswith(" "):
            raise YamlSubsetError(f"line {line.number}: expected '- item', got {line.text!r}")
        rest = rest.strip()
        if not rest:
            value, pos = _value_after(lines, pos, indent, None, line.number)
            out.append(value)
            continue
        item_indent = indent + 1 + (len(line.text) - 1 - len(line.text[1:].lstrip(" ")))
        if _KEY.match(rest):
            # "- key: value" starts a mapping whose further keys are indented like this first key
            lines[pos] = _Line(line.number, item_indent, rest)
            value, pos = _parse_map(lines, pos, item_indent)
            out.append(value)
        else:
            out.append(scalar(rest, line.number))
            pos += 1
    return out, pos


def loads(text: str) -> Any:
    lines = _lines(text)
    if not lines:
        return None
    if lines[0].indent != 0:
        raise YamlSubsetError(f"line {lines[0].number}: the document must start at column 0")
    value, pos = _parse_block(lines, 0, 0)
    if pos != len(lines):
        raise YamlSubsetError(f"line {lines[pos].number}: unexpected content {lines[pos].text!r}")
    return value
