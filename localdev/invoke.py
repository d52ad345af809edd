"""``swr-sync invoke FUNCTION --event FILE [--runtime functiongraph|openfaas]``.

Runs one function's handler in this process with an event file, like ``sam local invoke -e``. Configuration
comes from the environment. Prints the handler's return value as JSON on stdout (logs go to stderr); exit status 1 when the
function answered with an HTTP error status (>= 400), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from localdev.context import FunctionGraphContext, OpenFaaSContext, openfaas_event_from_spec
from localdev.registry import FUNCTIONS, load


def guess_runtime(event: Any) -> str:
    """OpenFaaS specs are ``{method, headers, body...}`` without APIG's ``httpMethod``."""
    if isinstance(event, dict) and "httpMethod" not in event and {"method", "body"} & event.keys():
        return "openfaas"
    return "functiongraph"


def invoke(function: str, event: Any, runtime: str | None = None, timeout_s: float = 30.0) -> Any:
    module = load(function)
    runtime = runtime or guess_runtime(event)
    if runtime == "openfaas":
        return module.handle(openfaas_event_from_spec(event), OpenFaaSContext())
    return module.handler(event, FunctionGraphContext(function, timeout_s))


def failed(result: Any) -> bool:
    return (
        isinstance(result, dict) and isinstance(result.get("statusCode"), int) and result["statusCode"] >= 400
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="swr-sync invoke", description=__doc__.splitlines()[0])
    parser.add_argument("function", choices=sorted(FUNCTIONS))
    parser.add_argument("--event", "-e", required=True, help="event JSON file ('-' for stdin)")
    parser.add_argument(
        "--runtime", choices=["functiongraph", "openfaas"], help="default: guessed from the event"
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="function timeout in seconds (default 30)"
    )
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.event == "-" else Path(args.event).read_text(encoding="utf-8")
        event = json.loads(text)
    except (OSError, ValueError) as err:
        print(f"swr-sync invoke: cannot read event {args.event}: {err}", file=sys.stderr)
        return 2
    # The function logs to stdout (that is the platform's log stream); keep stdout for the result.
    with contextlib.redirect_stdout(sys.stderr):
        result = invoke(args.function, event, args.runtime, args.timeout)
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
    return 1 if failed(result) else 0
