"""``swr-sync health-link --base URL [--ttl SECONDS]``: a signed, expiring link to job-monitor's health page.

The key is ``HEALTH_LINK_SECRET`` or, when unset, ``MONITOR_TOKEN`` (each may come from ``NAME_FILE``), the
same the function verifies with. Prints the link on stdout; nothing is logged.
"""

from __future__ import annotations

import argparse
import sys

from functions.job_monitor.health import links


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="swr-sync health-link", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base", required=True, help="job-monitor's public GET address, e.g. https://gw/job-monitor"
    )
    parser.add_argument(
        "--ttl", type=int, default=links.DEFAULT_TTL, help="seconds the link lives (default 3600)"
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    from shared.runtime.config import env_lookup

    lookup = env_lookup()
    secret = lookup("HEALTH_LINK_SECRET") or lookup("MONITOR_TOKEN")
    if not secret:
        print(
            "swr-sync health-link: set HEALTH_LINK_SECRET or MONITOR_TOKEN (as the function has it)",
            file=sys.stderr,
        )
        return 2
    if not args.base.startswith(("http://", "https://")):
        print("swr-sync health-link: --base must be an http(s) URL", file=sys.stderr)
        return 2
    try:
        print(links.url(args.base, secret, args.ttl))
    except links.LinkError as err:
        print(f"swr-sync health-link: {err}", file=sys.stderr)
        return 2
    return 0
