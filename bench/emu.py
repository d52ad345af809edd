"""The SWR emulator (localdev/emulator) as the cases use it: in the bench process, AK/SK enabled, bulk seeding
through the admin API's own ``seed``, latency through a delay fault, request counting through the request log."""

from __future__ import annotations

import importlib
import re
import resource
from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import Any

from bench.common import AK, SK, NotAvailable, require_files


class ShiftClock:
    """The emulator's clock: real time plus an offset (seed history in the past, then come back to now)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


def modules() -> tuple[Any, ModuleType]:
    """(Emulator class, admin module), or NotAvailable while the emulator is not there yet."""
    require_files(
        "localdev/emulator/__init__.py", "localdev/emulator/server.py", "localdev/emulator/admin.py"
    )
    try:
        package = importlib.import_module("localdev.emulator")
        admin = importlib.import_module("localdev.emulator.admin")
    except ImportError as err:
        raise NotAvailable(f"the emulator cannot be imported yet ({err})") from err
    if not hasattr(package, "Emulator") or not hasattr(admin, "seed"):
        raise NotAvailable("the emulator has no Emulator class or bulk seeding yet")
    return package.Emulator, admin


def tcp_nodelay() -> bool:
    """Whether the emulator answers without Nagle's algorithm (reported with the results).

    The emulator writes the response head and the body in two ``send`` calls; with Nagle on, the body waits for
    the client's delayed ACK (40 ms on Linux) on keep-alive connections, which the real SWR gateway does not
    do (measured: 64 ms per SDK call instead of 24 ms at 20 ms injected latency). localdev/emulator/server.py
    sets ``disable_nagle_algorithm`` on its handler for that reason.
    """
    server = importlib.import_module("localdev.emulator.server")
    return bool(getattr(server._Handler, "disable_nagle_algorithm", False))


def start(clock: ShiftClock | None = None) -> Any:
    emulator_cls, _ = modules()
    return emulator_cls(port=0, aksk={AK: SK}, clock=clock).start()


def seed(emu: Any, **body: Any) -> dict[str, Any]:
    _, admin = modules()
    result: dict[str, Any] = admin.seed(emu.state, body)
    return result


def request_seq(emu: Any) -> int:
    """Sequence number of the last logged API request (the log is capped; the sequence is not)."""
    log = emu.state.requests()
    return int(log[-1]["seq"]) if log else 0


def requests_since(emu: Any, seq: int) -> list[dict[str, Any]]:
    return [r for r in emu.state.requests() if int(r["seq"]) > seq]


def about_namespace(path: str, namespace: str) -> bool:
    """Whether an API request (raw path with query) concerns ``namespace`` exactly (not ``namespace``-prefixed)."""
    return bool(
        re.search(
            rf"/namespaces/{re.escape(namespace)}(/|$|\?)|[?&]namespace={re.escape(namespace)}(&|$)", path
        )
    )


def cpu_ms() -> float:
    """CPU time of the bench process, i.e. of the in-process emulator while a child runs."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000
