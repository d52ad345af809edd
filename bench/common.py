"""Shared plumbing of the benchmark cases: paths, statistics, result records, child processes."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CASES = BENCH / "cases"
RESULT_PREFIX = "BENCH_RESULT "

# Credentials and names used by every case (fake: nothing here reaches a real cloud).
AK = "BENCHAKEXAMPLE0000000"
SK = "BENCHSKEXAMPLE0000000000000000000000000"
PROJECT_ID = "0123456789abcdef0123456789abcdef"
NAMESPACE = "bench"
REPOSITORY = "group/app"
TARGET_REGION = "ap-southeast-1"
TARGET_NAMESPACE = "bench-mirror"


class NotAvailable(Exception):
    """A dependency of the case (a function, the emulator, the packager, the SDK) does not exist yet."""


# -- statistics ---------------------------------------------------------------------------------------------


@dataclass
class Stats:
    n: int
    median: float
    min: float
    max: float
    q1: float
    q3: float

    @property
    def spread_pct(self) -> float:
        """Interquartile range relative to the median, in percent."""
        return 100.0 * (self.q3 - self.q1) / self.median if self.median else 0.0

    def fmt(self, digits: int = 1) -> str:
        if self.n == 1:
            return f"{self.median:,.{digits}f}"
        return (
            f"{self.median:,.{digits}f} (IQR {self.q1:,.{digits}f}-{self.q3:,.{digits}f}, "
            f"min-max {self.min:,.{digits}f}-{self.max:,.{digits}f})"
        )


def stats(values: Sequence[float]) -> Stats:
    if not values:
        raise ValueError("no values")
    vals = sorted(float(v) for v in values)
    if len(vals) >= 2:
        q1, _, q3 = statistics.quantiles(vals, n=4, method="inclusive")
    else:
        q1 = q3 = vals[0]
    return Stats(len(vals), statistics.median(vals), vals[0], vals[-1], q1, q3)


# -- result records -----------------------------------------------------------------------------------------


@dataclass
class Metric:
    """One row of the results table. ``goal`` is the maximum acceptable ours/SDK ratio (None: informative)."""

    name: str
    unit: str
    ours: Stats | None = None
    sdk: Stats | None = None
    pair_ratios: Stats | None = None  # ours_i / sdk_i over the alternating pairs (the noise of the ratio)
    goal: float | None = None
    goal_text: str = ""
    ratio_override: float | None = None  # for ratios that are not ours/SDK medians (e.g. vs an ideal)
    passed_override: bool | None = None
    digits: int = 1
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ratio_override is not None:
            return self.ratio_override
        if self.ours is None or self.sdk is None or not self.sdk.median:
            return None
        return self.ours.median / self.sdk.median

    @property
    def passed(self) -> bool | None:
        if self.passed_override is not None:
            return self.passed_override
        if self.goal is None or self.ratio is None:
            return None
        return self.ratio <= self.goal

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = self.ratio
        data["passed"] = self.passed
        return data


@dataclass
class CaseResult:
    key: str
    title: str
    status: str = "measured"  # measured | partial | not yet available | error
    reason: str = ""
    metrics: list[Metric] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "status": self.status,
            "reason": self.reason,
            "seconds": round(self.seconds, 2),
            "metrics": [m.to_json() for m in self.metrics],
            "details": self.details,
        }


# -- interpreters and child processes ------------------------------------------------------------------------


@dataclass
class Interp:
    """A Python to run children with: started with ``-I -S`` so that no ``.pth`` file or user site runs,
    and ``paths`` (passed as argv[1]) put in front of ``sys.path`` by the child itself."""

    label: str
    python: str
    paths: list[str]

    def argv(self, script: Path | str, *args: str, flags: Sequence[str] = ()) -> list[str]:
        return [self.python, "-I", "-S", *flags, str(script), os.pathsep.join(self.paths), *args]


def site_packages(python: str) -> list[str]:
    code = (
        "import sysconfig,json;p=sysconfig.get_paths();print(json.dumps(sorted({p['purelib'],p['platlib']})))"
    )
    out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, check=True).stdout
    return [str(p) for p in json.loads(out)]


def ours_interp() -> Interp:
    """The project's own environment (the one running the bench), with the repository root first."""
    return Interp("ours", sys.executable, [str(ROOT), *site_packages(sys.executable)])


@dataclass
class ChildRun:
    spawned_at: float  # time.perf_counter() just before the spawn (CLOCK_MONOTONIC: same clock as the child)
    wall_ms: float
    returncode: int
    stdout: str
    stderr: str
    result: dict[str, Any] | None

    def check(self, what: str) -> dict[str, Any]:
        if self.returncode != 0 or self.result is None:
            tail = (self.stderr or self.stdout).strip().splitlines()[-8:]
            raise RuntimeError(f"{what} failed (exit {self.returncode}): " + " | ".join(tail))
        if self.result.get("error"):
            raise RuntimeError(f"{what} failed: {self.result['error']}")
        return self.result


class _Spawner:
    """The bench/spawner.py process (see there for why children are not started from this process)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", str(BENCH / "spawner.py")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
        return self._proc

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            proc = self._ensure()
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            if not line:
                self._proc = None
                raise RuntimeError("the bench spawner died")
            return dict(json.loads(line))

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


SPAWNER = _Spawner()


def run_child(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    cwd: Path | None = None,
) -> ChildRun:
    """Run one child to completion (through the spawner); ``wall_ms`` spans spawn to exit."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    full_env.update(env or {})
    answer = SPAWNER.run({"argv": list(argv), "env": full_env, "cwd": str(cwd or ROOT), "timeout": timeout})
    stdout = str(answer["stdout"])
    result = None
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
            break
    return ChildRun(
        float(answer["spawned_at"]),
        float(answer["wall_ms"]),
        int(answer["returncode"]),
        stdout,
        str(answer["stderr"]),
        result,
    )


def alternate(
    runs: int, ours: Callable[[int], Any], sdk: Callable[[int], Any] | None
) -> tuple[list[Any], list[Any]]:
    """ours, sdk, ours, sdk, ... so that drift on a shared machine hits both sides alike."""
    a: list[Any] = []
    b: list[Any] = []
    for i in range(runs):
        a.append(ours(i))
        if sdk is not None:
            b.append(sdk(i))
    return a, b


def pair_ratios(ours: Sequence[float], sdk: Sequence[float]) -> Stats | None:
    pairs = [o / s for o, s in zip(ours, sdk, strict=False) if s]
    return stats(pairs) if pairs else None


def file_exists(rel: str) -> bool:
    return (ROOT / rel).is_file()


def require_files(*rels: str) -> None:
    missing = [r for r in rels if not file_exists(r)]
    if missing:
        raise NotAvailable("missing " + ", ".join(missing))
