"""JSON read from anywhere (server bodies, error bodies, events, values read back from a store): one decoder
whose every failure is a :class:`JsonError` (a ``ValueError``), whatever the text holds.

``json.loads`` alone raises ``RecursionError`` on deep nesting (``[[[[...`` 100,000 deep), accepts ``NaN`` and
``Infinity`` (not JSON, and they poison arithmetic and re-encoding), turns ``1e999`` into ``inf``, and raises
``UnicodeDecodeError`` or ``ValueError`` (an integer beyond the digit limit) for the rest. Callers map
:class:`JsonError` to their own typed error: a 502 for a server's answer, a 400 for a caller's input.

:func:`loads_list` reads a JSON list item by item and keeps at most ``max_items`` of them: a page that holds
hundreds of thousands of items where 50 were asked is cut without ever building the rest.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

_WS = json.decoder.WHITESPACE  # type: ignore[attr-defined]


class JsonError(ValueError):
    """The text is not usable JSON; the message says why (never the text itself)."""


def _refuse_constant(name: str) -> Any:
    raise JsonError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonError("a number out of range")
    return value


def _decoder(object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None) -> json.JSONDecoder:
    return json.JSONDecoder(
        parse_float=_finite_float, parse_constant=_refuse_constant, object_pairs_hook=object_pairs_hook
    )


_PLAIN = _decoder(None)


def _text(data: str | bytes | bytearray) -> str:
    if isinstance(data, str):
        return data
    try:
        return bytes(data).decode("utf-8-sig" if data[:3] == b"\xef\xbb\xbf" else "utf-8")
    except UnicodeDecodeError:
        raise JsonError("malformed JSON: not UTF-8 text") from None


def loads(
    data: str | bytes | bytearray,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """The JSON value of ``data``; :class:`JsonError` for anything else (the hook's own errors pass through)."""
    text = _text(data)
    decoder = _PLAIN if object_pairs_hook is None else _decoder(object_pairs_hook)
    try:
        return decoder.decode(text)
    except JsonError:
        raise
    except json.JSONDecodeError as err:
        raise JsonError(f"malformed JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except RecursionError:
        raise JsonError("malformed JSON: nested too deeply") from None
    except ValueError as err:
        if type(err) is not ValueError:
            raise  # the hook's own error (e.g. a repeated key), for the caller
        raise JsonError("malformed JSON: a number too large") from None  # beyond the digit limit


def loads_list(data: str | bytes | bytearray, max_items: int) -> tuple[Any, bool]:
    """(value, cut): a JSON list keeps at most ``max_items`` items and ``cut`` says whether more followed.

    The items after the cut are not decoded (only scanned past by the position where the cut happened: the
    rest of the text is not even read). Any other JSON value is returned whole, with ``cut`` False.
    """
    text = _text(data)
    index = _WS.match(text, 0).end()
    if not text.startswith("[", index):
        return loads(text), False
    items: list[Any] = []
    index = _WS.match(text, index + 1).end()
    if text.startswith("]", index):
        _expect_end(text, index + 1)
        return items, False
    try:
        while True:
            if len(items) >= max_items:
                return items, True
            value, index = _PLAIN.raw_decode(text, index)
            items.append(value)
            index = _WS.match(text, index).end()
            if text.startswith(",", index):
                index = _WS.match(text, index + 1).end()
                continue
            if text.startswith("]", index):
                _expect_end(text, index + 1)
                return items, False
            raise JsonError(f"malformed JSON: expected ',' or ']' at character {index}")
    except JsonError:
        raise
    except json.JSONDecodeError as err:
        raise JsonError(f"malformed JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except RecursionError:
        raise JsonError("malformed JSON: nested too deeply") from None
    except ValueError:
        raise JsonError("malformed JSON: a number too large") from None


def _expect_end(text: str, index: int) -> None:
    if _WS.match(text, index).end() != len(text):
        raise JsonError(f"malformed JSON: extra data at character {index}")
