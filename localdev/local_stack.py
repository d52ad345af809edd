"""``swr-sync local [--port 8000]``: the whole product on this machine, no cloud account.

Starts the SWR + IAM emulator, serves the three functions the way their triggers would (an APIG-like gateway:
``POST /push-sync``, ``GET /policy-export``, ``POST /job-monitor``, ``GET /health``; job-monitor also on a
timer), subscribes
push-sync to the emulator's push webhooks, seeds a demo namespace in two regions, and walks through a push,
the sync it causes, the job states, the monitor report and the export. Ctrl-C stops cleanly.

This module is the stack's lifecycle; the gateway is ``localdev/gateway.py``, the demo data and credentials
``localdev/demo.py``, the walkthrough ``localdev/walkthrough.py``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from localdev import demo, walkthrough
from localdev.demo import (
    DEMO_EXPORT_TOKEN,
    DEMO_MONITOR_TOKEN,
    DEMO_WEBHOOK_SECRET,
    SOURCE_REGION,
    TARGET_REGION,
    stack_environment,
)
from localdev.gateway import Gateway, invoke_function, timer_event

__all__ = [
    "DEMO_EXPORT_TOKEN",
    "DEMO_MONITOR_TOKEN",
    "DEMO_WEBHOOK_SECRET",
    "Gateway",
    "LocalStack",
    "invoke_function",
    "main",
]


class LocalStack:
    def __init__(self, host: str = "127.0.0.1", port: int = 8000, monitor_interval: float = 60.0) -> None:
        from localdev.emulator import Emulator

        self.emulator = Emulator(
            host=host,
            port=0,
            regions=(SOURCE_REGION, TARGET_REGION),
            default_region=SOURCE_REGION,
            waiting_seconds=1.0,
            running_seconds=2.0,
        )
        self.host, self.port = host, port
        self.monitor_interval = monitor_interval
        self._stop = threading.Event()
        self.gateway: Gateway | None = None

    def start(self) -> None:
        self.emulator.start()
        os.environ.update(stack_environment(self.emulator.url))
        from localdev.registry import FUNCTIONS, load

        for name in FUNCTIONS:
            app = getattr(load(name), "APP", None)
            if app is not None:
                app.reset()  # pick up the stack's environment
        self.gateway = Gateway(self.host, self.port, invoke_function)
        self.gateway.serve_in_background()
        demo.seed(self.emulator.state, f"{self.gateway.url}/push-sync")
        if self.monitor_interval > 0:
            threading.Thread(target=self._timer, name="job-monitor-timer", daemon=True).start()

    def _timer(self) -> None:
        while not self._stop.wait(self.monitor_interval):
            invoke_function("job-monitor", timer_event())

    def stop(self) -> None:
        self._stop.set()
        if self.gateway is not None:
            self.gateway.close()
        self.emulator.stop()

    def walkthrough(self, out: Callable[[str], None] = print) -> dict[str, Any]:
        """See :func:`localdev.walkthrough.run`."""
        assert self.gateway is not None
        return walkthrough.run(self.emulator, self.gateway.url, self.health_link, out)

    def health_link(self, ttl: int = 3600) -> str:
        from functions.job_monitor.health import links

        assert self.gateway is not None
        return links.url(f"{self.gateway.url}/health", DEMO_MONITOR_TOKEN, ttl)

    def serve_forever(self) -> None:
        self._stop.wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="swr-sync local", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=8000, help="gateway port (default 8000; 0 = any free port)"
    )
    parser.add_argument(
        "--monitor-interval", type=float, default=60.0, help="job-monitor timer, seconds (0 = off)"
    )
    parser.add_argument("--once", action="store_true", help="exit after the walkthrough")
    args = parser.parse_args(argv)
    stack = LocalStack(args.host, args.port, args.monitor_interval)
    try:
        stack.start()
    except OSError as err:
        print(
            f"swr-sync local: cannot start: {err} (is port {args.port} in use? try --port 0)", file=sys.stderr
        )
        return 1
    try:
        stack.walkthrough(lambda line: print(line, flush=True))
        if args.once:
            return 0
        print(f"\nserving; the health page: {stack.health_link(7 * 86400)}", flush=True)
        print("press Ctrl-C to stop", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: stack._stop.set())
        stack.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        print("stopped", flush=True)
    return 0
