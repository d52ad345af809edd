"""requirements.lock, the project's one lock: read it, hold a venv to it, and derive its subsets.

The lock is written by ``make lock`` only (``uv pip compile --universal --generate-hashes`` over every extra of
pyproject.toml, for Python 3.10 and newer). Everything installs from it with ``pip --require-hashes --no-deps``,
so no resolver ever runs at install time. Two subsets are derived here, never written by hand:

- the runtime set shipped in the FunctionGraph zips and the OpenFaaS ``requirements.txt`` (the closure of
  ``[project].dependencies``, for the target's Python and CPU), and
- the official SDK's set for the benchmark's separate venv (the closure of ``huaweicloudsdkswr``).

``python -m localdev.lockfile check`` fails with a clear message when the venv it runs in differs from the lock;
``sync`` first removes what the lock does not name (``make`` runs it after every install).

Only ``packaging`` is needed beyond the standard library (it is in the lock: pytest needs it); this runs in the
venv after pip has installed the lock.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PROJECT = "swr-sync"
# Installed in every venv by venv/ensurepip or as the editable project itself: never in the lock.
UNLOCKED = frozenset({"pip", PROJECT})
SDK_ROOT = "huaweicloudsdkswr"
_NORMALISE = re.compile(r"[-_.]+")
_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


class LockError(Exception):
    """A lock problem, worded for the person running make."""


def normalise(name: str) -> str:
    return _NORMALISE.sub("-", name).lower()


@dataclass(frozen=True)
class Entry:
    """One ``name==version [; marker]`` block of the lock, with its hashes."""

    name: str
    version: str
    marker: str | None
    hashes: tuple[str, ...]

    def applies(self, env: dict[str, str]) -> bool:
        return self.marker is None or Marker(self.marker).evaluate(env)

    def requirement_text(self) -> str:
        """The entry as a hash-checked requirements line (marker dropped: the caller already chose it)."""
        hashes = "".join(f" \\\n    --hash={h}" for h in self.hashes)
        return f"{self.name}=={self.version}{hashes}\n"

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def read(path: Path = LOCK) -> list[Entry]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LockError(f"cannot read the lock {path}: {exc.strerror}; `make lock` writes it") from exc
    entries: list[Entry] = []
    current: list[str] = []

    def flush() -> None:
        if not current:
            return
        head = _ENTRY.match(current[0])
        if head is None:
            raise LockError(f"{path}: cannot read the entry {current[0]!r}")
        hashes = tuple(m for line in current[1:] for m in re.findall(r"--hash=(\S+)", line))
        if not hashes:
            raise LockError(f"{path}: {head.group(1)}=={head.group(2)} has no --hash (run `make lock`)")
        entries.append(Entry(normalise(head.group(1)), head.group(2), head.group(3), hashes))
        current.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--hash="):
            current.append(line)
        else:
            flush()
            current.append(line)
    flush()
    return entries


def environment(python: str | None = None, machine: str | None = None) -> dict[str, str]:
    """Marker environment of this interpreter, or of CPython ``python`` (``3.12``) on Linux ``machine``."""
    env = {key: str(value) for key, value in default_environment().items()}
    if python is not None:
        env.update(
            python_version=python,
            python_full_version=f"{python}.0",
            implementation_name="cpython",
            platform_python_implementation="CPython",
            sys_platform="linux",
            platform_system="Linux",
            os_name="posix",
        )
    if machine is not None:
        env["platform_machine"] = machine
    return env


def pins_for(entries: Iterable[Entry], env: dict[str, str]) -> dict[str, Entry]:
    """The one entry of each package that applies in ``env``."""
    chosen: dict[str, Entry] = {}
    for entry in entries:
        if entry.applies(env):
            if entry.name in chosen:
                raise LockError(f"the lock has two entries of {entry.name} for one environment")
            chosen[entry.name] = entry
    return chosen


Requires = Callable[[str], "list[str] | None"]  # Requires-Dist of an installed package


def closure(
    roots: Iterable[str], env: dict[str, str], entries: list[Entry], requires: Requires
) -> list[Entry]:
    """Every locked entry that ``roots`` (requirement strings) need in ``env``, following each package's
    ``Requires-Dist`` (``requires(name)``, read from the installed metadata of the locked version)."""
    pins = pins_for(entries, env)
    found: dict[str, Entry] = {}
    todo: list[tuple[str, frozenset[str]]] = []

    def want(text: str, extra: str = "") -> None:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            return
        todo.append((normalise(req.name), frozenset(req.extras)))

    for root in roots:
        want(root)
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        entry = pins.get(name)
        if entry is None:
            raise LockError(f"{name} is needed but the lock has no entry for it here: run `make lock`")
        found[name] = entry
        for dep in requires(name) or []:
            want(dep)
            for extra in extras:
                want(dep, extra)
    return sorted(found.values(), key=lambda e: e.name)


def installed_requires(name: str) -> list[str] | None:
    """Requires-Dist of an installed package; None for one this venv does not have (a package needed only on
    another Python, e.g. a backport: the packager checks each downloaded wheel's own metadata afterwards)."""
    try:
        return importlib.metadata.requires(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def missing_requirements(requires_dist: list[str], env: dict[str, str], have: set[str]) -> list[str]:
    """The requirements of a wheel's METADATA that apply in ``env`` and are not among ``have``."""
    missing = []
    for text in requires_dist:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
            continue
        if normalise(req.name) not in have:
            missing.append(str(req))
    return missing


RUNTIME_EXTRAS = ("redis",)  # optional runtime extras a package may carry (STATE_REDIS_URL needs redis-py)


def runtime(
    python: str, machine: str, entries: list[Entry] | None = None, extras: tuple[str, ...] = ()
) -> list[Entry]:
    """The runtime set for CPython ``python`` on Linux ``machine``: what the packages ship, with the optional
    runtime ``extras`` (e.g. ``redis``) when asked."""
    entries = read() if entries is None else entries
    unknown = sorted(set(extras) - set(RUNTIME_EXTRAS))
    if unknown:
        raise LockError(f"unknown runtime extra(s) {unknown}: choose from {', '.join(RUNTIME_EXTRAS)}")
    requires = installed_requires(PROJECT) or []
    roots = [r for r in requires if "extra ==" not in r]
    if not roots:
        raise LockError(f"{PROJECT} is not installed in this venv (make installs it)")
    env = environment(python, machine)
    for extra in extras:
        roots += [
            str(Requirement(r)).split(";")[0]
            for r in requires
            if (req := Requirement(r)).marker is not None and req.marker.evaluate({**env, "extra": extra})
        ]
    return closure(roots, env, entries, installed_requires)


def sdk(entries: list[Entry] | None = None) -> list[Entry]:
    """The official SDK's set for this interpreter (the benchmark's separate venv)."""
    entries = read() if entries is None else entries
    return closure([SDK_ROOT], environment(), entries, installed_requires)


# -- the venv against the lock -------------------------------------------------------------------------------


def installed() -> dict[str, str]:
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found[normalise(name)] = dist.version
    return found


def differences(
    entries: list[Entry], have: dict[str, str], env: dict[str, str]
) -> tuple[list[str], list[str]]:
    """(problems, names to remove): every way ``have`` differs from the lock's set for ``env``."""
    want = pins_for(entries, env)
    problems: list[str] = []
    extra: list[str] = []
    for name, entry in sorted(want.items()):
        if name not in have:
            problems.append(f"missing: {entry}")
        elif have[name] != entry.version:
            problems.append(f"other version: {name} {have[name]} installed, the lock pins {entry.version}")
    for name in sorted(have):
        if name not in want and name not in UNLOCKED:
            problems.append(f"not in the lock: {name} {have[name]}")
            extra.append(name)
    return problems, extra


def _check(fix: bool) -> int:
    entries = read()
    env = environment()
    problems, extra = differences(entries, installed(), env)
    if fix and extra:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-q", "-y", *extra], check=True)
        problems, extra = differences(entries, installed(), env)
    if problems:
        print(
            f"error: {sys.prefix} differs from {LOCK.name} ({len(problems)} difference(s)):", file=sys.stderr
        )
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print(
            "Install nothing by hand: `make setup` puts the venv back to exactly the lock; "
            "`make lock PACKAGE=name` (or `make lock` for all) changes the lock on purpose.",
            file=sys.stderr,
        )
        return 1
    count = len(pins_for(entries, env))
    print(
        f"{sys.prefix}: {count} packages, exactly those of {LOCK.name} (Python {platform.python_version()})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.lockfile", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="fail unless this venv holds exactly the lock's packages")
    sub.add_parser("sync", help="remove packages the lock does not name, then check")
    write = sub.add_parser("subset", help="write a hash-checked requirements file for a derived subset")
    write.add_argument("which", choices=["runtime", "sdk"])
    write.add_argument("--python", default=f"{sys.version_info[0]}.{sys.version_info[1]}")
    write.add_argument("--machine", default=platform.machine())
    write.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "subset":
            chosen = runtime(args.python, args.machine) if args.which == "runtime" else sdk()
            args.output.write_text("".join(e.requirement_text() for e in chosen), encoding="utf-8")
            return 0
        return _check(fix=args.command == "sync")
    except LockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
