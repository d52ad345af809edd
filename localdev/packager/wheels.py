"""Runtime dependency wheels: the lock, the per-target wheel cache, unpacking with a lean file selection.

Wheels come from ``pip download --no-deps --only-binary=:all: --platform manylinux_2_28_<arch> --python-version
X.Y --implementation cp``, one cache directory per target under ``build/wheels/`` (so pydantic-core always
matches the target's exact CPython version and CPU architecture). When every pinned wheel is already cached,
pip is not run at all: rebuilds are offline.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from localdev import lockfile

ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}  # our name -> manylinux machine name


class PackagingError(Exception):
    """A build problem with a message meant for the person running ``swr-sync package``."""


normalise = lockfile.normalise


@dataclass(frozen=True)
class Target:
    """Where the artifacts will run: CPython ``python`` (``3.12``) on Linux ``arch`` (``x86_64``/``arm64``)."""

    python: str
    arch: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"3\.\d{1,2}", self.python):
            raise PackagingError(f"--python: expected a version like 3.12, got {self.python!r}")
        if self.arch not in ARCHES:
            raise PackagingError(f"--arch: expected one of {', '.join(ARCHES)}, got {self.arch!r}")

    @property
    def minor(self) -> int:
        return int(self.python.split(".")[1])

    @property
    def nodot(self) -> str:
        return self.python.replace(".", "")

    @property
    def machine(self) -> str:
        return ARCHES[self.arch]

    @property
    def platform(self) -> str:
        # glibc 2.28: google-re2's wheels need it (pydantic-core's need 2.17); pip also takes older tags.
        return f"manylinux_2_28_{self.machine}"

    @property
    def pip_platforms(self) -> tuple[str, ...]:
        """What pip may take: 2.28 and the older manylinux2014 (pip does not widen a --platform by itself)."""
        return (self.platform, f"manylinux2014_{self.machine}")

    @property
    def suffix(self) -> str:
        """Artifact name suffix: ``py3.12-x86_64``."""
        return f"py{self.python}-{self.arch}"

    @property
    def cache_key(self) -> str:
        return f"cp{self.nodot}-{self.platform}"


@dataclass(frozen=True)
class Pin:
    """A runtime package as requirements.lock pins it, with the sha256 of every file the lock accepts."""

    name: str
    version: str
    hashes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"

    def requirement_text(self) -> str:
        return f"{self}" + "".join(f" \\\n    --hash={h}" for h in self.hashes) + "\n"


def runtime_pins(target: Target, lock: Path | None = None, extras: tuple[str, ...] = ()) -> list[Pin]:
    """The runtime closure of pyproject's dependencies (and optional runtime ``extras``) for ``target``,
    versions and hashes from the one lock."""
    try:
        entries = lockfile.read(lock) if lock else lockfile.read()
        chosen = lockfile.runtime(target.python, target.machine, entries, extras)
    except lockfile.LockError as exc:
        raise PackagingError(str(exc)) from exc
    return [Pin(e.name, e.version, e.hashes) for e in chosen]


# -- wheel file names ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WheelName:
    name: str
    version: str
    python_tags: tuple[str, ...]
    abi_tags: tuple[str, ...]
    platform_tags: tuple[str, ...]

    @classmethod
    def parse(cls, filename: str) -> WheelName | None:
        if not filename.endswith(".whl"):
            return None
        parts = filename[: -len(".whl")].split("-")
        if len(parts) not in (5, 6):
            return None
        name, version = parts[0], parts[1]
        py, abi, plat = parts[-3], parts[-2], parts[-1]
        return cls(
            normalise(name), version, tuple(py.split(".")), tuple(abi.split(".")), tuple(plat.split("."))
        )

    def fits(self, target: Target) -> bool:
        """True if pip would install this wheel on CPython ``target.python`` / manylinux ``target.arch``."""
        plat_ok = any(
            p == "any" or (p.startswith(("manylinux", "linux")) and p.endswith("_" + target.machine))
            for p in self.platform_tags
        )
        if not plat_ok:
            return False
        for py in self.python_tags:
            for abi in self.abi_tags:
                if abi == "none" and py in ("py3", f"py3{target.minor}", f"cp3{target.minor}"):
                    return True
                if abi == f"cp{target.nodot}" and py == f"cp{target.nodot}":
                    return True
                if (
                    abi == "abi3"
                    and py.startswith("cp3")
                    and py[3:].isdigit()
                    and int(py[3:]) <= target.minor
                ):
                    return True
        return False


def find_cached(pins: list[Pin], directory: Path, target: Target) -> dict[Pin, Path]:
    found: dict[Pin, Path] = {}
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.whl")):
        wheel = WheelName.parse(path.name)
        if wheel is None or not wheel.fits(target):
            continue
        for pin in pins:
            if pin not in found and wheel.name == pin.name and wheel.version == pin.version:
                if pin.hashes and f"sha256:{sha256_file(path)}" not in pin.hashes:
                    raise PackagingError(
                        f"{path} does not match any hash of {pin} in requirements.lock: delete it and rebuild"
                    )
                found[pin] = path
    return found


def ensure_wheels(
    target: Target,
    cache_root: Path,
    pins: list[Pin],
    *,
    python: str | None = None,
    offline: bool = False,
    log: bool = True,
) -> list[Path]:
    """The wheel of every pin for ``target``, downloading only those not cached yet."""
    directory = cache_root / target.cache_key
    found = find_cached(pins, directory, target)
    missing = [p for p in pins if p not in found]
    if missing:
        if offline:
            raise PackagingError(
                f"--offline: no cached wheel in {directory} for {', '.join(map(str, missing))}; "
                "run once with network access to fill the cache"
            )
        directory.mkdir(parents=True, exist_ok=True)
        cmd = [
            python or sys.executable,
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary=:all:",
            *(arg for platform in target.pip_platforms for arg in ("--platform", platform)),
            "--python-version",
            target.python,
            "--implementation",
            "cp",
            "--dest",
            str(directory),
            *map(str, missing),
        ]
        if log:
            print(
                f"downloading {len(missing)} wheel(s) for {target.cache_key}: {' '.join(map(str, missing))}"
            )
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
            raise PackagingError(
                f"pip download failed for {target.cache_key} (network access to the package index is needed "
                f"once per target; cache: {directory}):\n{tail}"
            )
        found = find_cached(pins, directory, target)
        missing = [p for p in pins if p not in found]
        if missing:
            raise PackagingError(
                f"pip download finished but no wheel fits {target.cache_key} for {', '.join(map(str, missing))}"
            )
    return [found[p] for p in pins]


def check_closure(wheels: list[Path], pins: list[Pin], target: Target) -> None:
    """Every wheel's own Requires-Dist (for the target) is among the pins: the closure computed from this venv's
    metadata is checked against what actually ships."""
    have = {p.name for p in pins}
    env = lockfile.environment(target.python, target.machine)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            name = next((n for n in zf.namelist() if n.endswith(".dist-info/METADATA")), None)
            text = zf.read(name).decode("utf-8", "replace") if name else ""
        head = text.replace("\r\n", "\n").partition("\n\n")[0]
        requires = [
            line.split(":", 1)[1].strip() for line in head.splitlines() if line.startswith("Requires-Dist:")
        ]
        missing = lockfile.missing_requirements(requires, env, have)
        if missing:
            raise PackagingError(
                f"{wheel.name} needs {', '.join(missing)} for CPython {target.python}, not in the shipped set: "
                "run `make lock` (or report the lock gap)"
            )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- unpacking ----------------------------------------------------------------------------------------------

# dist-info files worth keeping: METADATA (trimmed; importlib.metadata.version() reads it), licence texts and
# SBOMs (redistribution terms), entry points (pydantic looks up plugins through them).
_KEEP_DIST_INFO = re.compile(
    r"(METADATA|entry_points\.txt|top_level\.txt|(licenses|sboms)/.+|(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*)"
)
_DROP_DIRS = {"__pycache__", "tests", "test", "testing_data"}
_DROP_SUFFIXES = (".pyc", ".pyo", ".pyi")
_DROP_NAMES = {"py.typed"}
# Never imported at run time by pydantic v2 code (pydantic.v1 only when a v1 model meets a v2 schema; the mypy
# plugin only inside mypy): 1.3 MB unpacked, ~0.4 MB zipped. The handler tests run against the pruned tree.
# Also never imported by a function (#22; ~90 kB zipped with .pyc): pydantic.deprecated (only by the deprecated
# V1-style API: .dict(), .copy(), parse_obj, validator, ...), pydantic.experimental and pydantic.color (only on
# an explicit import), structlog.twisted (Twisted integration, explicit import only).
# Likewise only on an explicit import, never by pydantic's own model machinery nor by a function (#22, ~45 kB
# zipped): the URL/e-mail/IP types (pydantic.networks, through ``pydantic.AnyUrl`` ...), ``validate_call``,
# ``RootModel`` (pydantic.root_model; also for a generic RootModel subclass, which the project has none of) and
# the alias generators.
PRUNE = (
    "pydantic/v1/",
    "pydantic/mypy.py",
    "pydantic/deprecated/",
    "pydantic/experimental/",
    "pydantic/color.py",
    "pydantic/networks.py",
    "pydantic/validate_call_decorator.py",
    "pydantic/_internal/_validate_call.py",
    "pydantic/root_model.py",
    "pydantic/alias_generators.py",
    "structlog/twisted.py",
)
# packaging is imported only by shared.rules.selection (``packaging.version`` and ``packaging.specifiers``, lazily,
# for semver rules): those two and what they import at run time are kept; tags, markers, metadata, licenses,
# requirements, pylock, ranges (``SpecifierSet.to_range`` only) are never imported by a function. ~0.3 MB zipped
# with .pyc (#22). tests/packaging checks that what is kept imports and runs in the pruned tree.
KEEP_ONLY = {"packaging/": frozenset({"__init__.py", "version.py", "specifiers.py", "_ranges.py"})}


def trim_metadata(data: bytes) -> bytes:
    """Keep the METADATA header block, drop the long description (pydantic's alone is 140 kB)."""
    head, _, _ = data.replace(b"\r\n", b"\n").partition(b"\n\n")
    return head.rstrip(b"\n") + b"\n"


def _wheel_target_path(member: str) -> str | None:
    """Where a wheel member goes inside the dependency root, or None to drop it."""
    path = PurePosixPath(member)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise PackagingError(f"unsafe path in wheel: {member!r}")
    top = path.parts[0]
    if top.endswith(".data"):
        # purelib/platlib install at the root; scripts, headers and data files are not needed by a function.
        if len(path.parts) > 2 and path.parts[1] in ("purelib", "platlib"):
            path = PurePosixPath(*path.parts[2:])
        else:
            return None
    elif top.endswith(".dist-info"):
        rest = "/".join(path.parts[1:])
        return str(path) if _KEEP_DIST_INFO.fullmatch(rest) else None
    if any(part in _DROP_DIRS for part in path.parts[:-1]):
        return None
    if str(path).startswith(PRUNE):
        return None
    for prefix, keep in KEEP_ONLY.items():
        if str(path).startswith(prefix) and str(path)[len(prefix) :] not in keep:
            return None
    if path.name in _DROP_NAMES or path.name.endswith(_DROP_SUFFIXES) or path.name.endswith("~"):
        return None
    return str(path)


def unpack_wheel(wheel: Path, dest: Path) -> int:
    """Extract the useful part of ``wheel`` into ``dest``; returns the number of files written."""
    count = 0
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            rel = _wheel_target_path(info.filename)
            if rel is None:
                continue
            data = zf.read(info)
            if rel.endswith(".dist-info/METADATA"):
                data = trim_metadata(data)
            out = dest / rel
            if out.exists():
                raise PackagingError(f"{wheel.name}: {rel} already provided by another wheel")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            if out.name.endswith(".so"):
                strip_symbols(out)
            count += 1
    return count


def strip_symbols(library: Path) -> bool:
    """``strip --strip-unneeded`` a native extension (what serverless packagers call "strip"): its symbol table
    is not used to load or run it. google-re2's ships one (-65 kB zipped); pydantic-core's is already stripped.
    Skipped, the file unchanged, where binutils is missing or does not know the target's format (an aarch64
    build on an x86_64 machine). True if stripped."""
    tool = shutil.which("strip")
    if tool is None:
        return False
    stripped = library.with_name(library.name + ".stripped")
    try:
        proc = subprocess.run(
            [tool, "--strip-unneeded", "-o", str(stripped), str(library)],
            capture_output=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0 or not stripped.is_file():
            return False
        stripped.replace(library)
        return True
    finally:
        stripped.unlink(missing_ok=True)
