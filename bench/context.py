"""What every case gets: run counts, the two interpreters, the loopback server, a scratch directory."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import AK, SK, Interp
from bench.loopback import Loopback
from bench.sdkenv import SdkEnv


def _print(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


@dataclass
class Ctx:
    runs: int  # timed runs per side for the process-level cases (alternating)
    quick: bool
    ours: Interp
    sdk: SdkEnv | None  # None: SDK side skipped (smoke tests without bench/.sdk-venv)
    tmp: Path
    log: Callable[[str], None] = _print
    smoke: bool = False  # tests: one iteration, small data, only proves that every case still runs
    shared: dict[str, object] = field(default_factory=dict)  # results one case hands to another
    _loopback: Loopback | None = None

    def loopback(self) -> Loopback:
        if self._loopback is None:
            self._loopback = Loopback(AK, SK).start()
        return self._loopback

    def close(self) -> None:
        if self._loopback is not None:
            self._loopback.stop()
            self._loopback = None

    def pick(self, full: int, quick: int, smoke: int | None = None) -> int:
        if self.smoke:
            return quick if smoke is None else smoke
        return quick if self.quick else full
