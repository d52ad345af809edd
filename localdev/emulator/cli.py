"""``swr-sync emulator``: run the SWR + IAM emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from .server import DEFAULT_REGIONS, Emulator

DEFAULT_PORT = 8780


def _pair(text: str, parts: int, what: str) -> list[str]:
    items = text.split(":", parts - 1)
    if len(items) != parts or not all(items):
        raise argparse.ArgumentTypeError(f"expected {what}")
    return items


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="swr-sync emulator", description="Run the SWR + IAM emulator.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"0 = any free port (default {DEFAULT_PORT})"
    )
    p.add_argument("--state", metavar="FILE", help="load state from FILE if present; save it on every change")
    p.add_argument(
        "--region",
        action="append",
        metavar="REGION",
        help="serve this region (repeatable; the first is the default region). "
        f"Default: {', '.join(DEFAULT_REGIONS)}",
    )
    p.add_argument(
        "--aksk", action="append", default=[], metavar="AK:SK", help="accept AK/SK signing (repeatable)"
    )
    p.add_argument("--token", action="append", default=[], metavar="T", help="a static token always accepted")
    p.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD:DOMAIN",
        help="an IAM user (repeatable; default demo:demo-password:demo-domain)",
    )
    p.add_argument("--waiting-seconds", type=float, default=1.0)
    p.add_argument("--running-seconds", type=float, default=2.0)
    p.add_argument("--verbose", "-v", action="store_true", help="log every HTTP request to stderr")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        aksk = dict(_pair(x, 2, "AK:SK") for x in args.aksk)
        users = {u[0]: (u[1], u[2]) for u in (_pair(x, 3, "NAME:PASSWORD:DOMAIN") for x in args.user)} or None
    except argparse.ArgumentTypeError as err:
        print(f"swr-sync emulator: {err}", file=sys.stderr)
        return 2
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    regions = tuple(args.region) if args.region else DEFAULT_REGIONS
    emu = Emulator(
        host=args.host,
        port=args.port,
        regions=regions,
        default_region=regions[0],
        waiting_seconds=args.waiting_seconds,
        running_seconds=args.running_seconds,
        users=users,
        static_tokens=tuple(args.token),
        aksk=aksk,
        state_file=args.state,
        verbose=args.verbose,
    )
    try:
        emu.start()
    except OSError as err:
        print(f"swr-sync emulator: cannot listen on {args.host}:{args.port}: {err.strerror}", file=sys.stderr)
        return 1
    print(f"listening on {emu.url}", flush=True)
    for region in emu.state.regions:
        print(f"  region {region}: {emu.region_url(region)}", flush=True)

    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _on_signal)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        emu.stop()
    print("emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
