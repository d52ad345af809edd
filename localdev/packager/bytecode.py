"""Byte-code for the FunctionGraph zips: finding a CPython of the target's version, and compiling reproducibly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from localdev.packager.wheels import PackagingError, Target


def _interpreter_version(python: str) -> tuple[str, str] | None:
    """(implementation, "X.Y") of an interpreter, or None if it cannot run."""
    try:
        proc = subprocess.run(
            [python, "-c", "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = proc.stdout.split()
    return (parts[0], parts[1]) if proc.returncode == 0 and len(parts) == 2 else None


def find_compiler(target: Target, explicit: str | None) -> str | None:
    """An interpreter whose version is the target's: the explicit one, this one, or ``pythonX.Y`` on PATH."""
    if explicit:
        found = _interpreter_version(explicit)
        if found != ("cpython", target.python):
            raise PackagingError(
                f"--compile-with {explicit}: need CPython {target.python}, found {found[1] if found else 'nothing runnable'}"
            )
        return explicit
    if (
        sys.implementation.name == "cpython"
        and f"{sys.version_info[0]}.{sys.version_info[1]}" == target.python
    ):
        return sys.executable
    candidates: list[str] = []
    on_path = shutil.which(f"python{target.python}")
    if on_path:
        candidates.append(on_path)
    # pyenv installs (its shims on PATH only work for the globally selected versions)
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    installs = sorted(
        pyenv_root.glob(f"versions/{target.python}.*/bin/python{target.python}"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parts[-3].split(".")],
        reverse=True,
    )
    candidates += [str(p) for p in installs]
    for candidate in candidates:
        if _interpreter_version(candidate) == ("cpython", target.python):
            return candidate
    return None


def compile_tree(python: str, root: Path, paths: list[Path], sourceless: bool = False) -> None:
    """Write ``__pycache__/*.cpython-3X.pyc`` for ``paths`` (under ``root``), reproducibly.

    ``sourceless``: write ``x.pyc`` beside each ``x.py`` instead and delete the source (the layout Python
    imports without a source). Used for the dependencies (#22: -0.44 MB zipped, the zips' size goal): their
    traceback frames then show file and line without the line's text. It ties nothing new to one Python: the
    zip already is (pydantic-core's extension is built for one CPython minor).

    unchecked-hash pycs stay valid whatever mtimes the unzip gives the sources (and Python cannot be counted on
    to write its own: /tmp is the only directory FunctionGraph documents as writable); ``-s root`` keeps the
    build directory out of the code objects; one worker and a fixed hash seed keep marshal output stable.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONHASHSEED"] = "0"
    cmd = [
        python,
        "-m",
        "compileall",
        "-q",
        "-f",
        "-j",
        "1",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(root),
        *(["-b"] if sourceless else []),
        *map(str, paths),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise PackagingError(
            f"byte-compiling {root.name} failed:\n{(proc.stdout + proc.stderr).strip()[-2000:]}"
        )
    if sourceless:
        for path in paths:
            for source in sorted(path.rglob("*.py") if path.is_dir() else [path]):
                compiled = source.with_suffix(".pyc")
                if not compiled.is_file():
                    raise PackagingError(f"byte-compiling {root.name}: no {compiled.name} for {source}")
                source.unlink()
