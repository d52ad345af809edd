"""The official SDK in its own virtual environment, ``bench/.sdk-venv`` (never a project dependency).

Created with the same base interpreter as the project's venv (so both sides run the same CPython), then
filled with the SDK's closure from requirements.lock (``pip --require-hashes --no-deps``: the SDK measured is
the version the lock pins, nothing is resolved). Reused when present, importable and at the locked versions.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import BENCH, Interp, site_packages
from localdev import lockfile

SDK_VENV = BENCH / ".sdk-venv"
SDK_PACKAGE = "huaweicloudsdkswr"


@dataclass
class SdkEnv:
    venv: Path
    python: str
    site_packages: list[str]
    versions: dict[str, str]
    install_seconds: float  # 0 when reused

    def interp(self) -> Interp:
        return Interp("sdk", self.python, list(self.site_packages))


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _versions(python: Path) -> dict[str, str] | None:
    code = (
        "import json,importlib.metadata as m\n"
        "import huaweicloudsdkswr.v2, huaweicloudsdkcore\n"
        "print(json.dumps({d: m.version(d) for d in ('huaweicloudsdkswr','huaweicloudsdkcore','requests')}))"
    )
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def existing(venv: Path = SDK_VENV) -> SdkEnv | None:
    """The SDK venv if it is already there and works (tests use this: they never install)."""
    python = _python(venv)
    if not python.exists():
        return None
    versions = _versions(python)
    if versions is None or any(versions.get(e.name) not in (None, e.version) for e in lockfile.sdk()):
        return None
    return SdkEnv(venv, str(python), site_packages(str(python)), versions, 0.0)


def ensure(venv: Path = SDK_VENV, log: bool = True) -> SdkEnv:
    found = existing(venv)
    if found is not None:
        return found
    started = time.monotonic()
    if log:
        print(f"[bench] creating {venv} and installing {SDK_PACKAGE} (one time)...", flush=True)
    # sys.executable is the project's venv python: venv resolves it to the same base interpreter.
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    requirements = venv / "requirements.txt"
    requirements.write_text("".join(e.requirement_text() for e in lockfile.sdk()), encoding="utf-8")
    pip = [str(_python(venv)), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--require-hashes", "--no-deps", "-r", str(requirements)], check=True)
    versions = _versions(_python(venv))
    if versions is None:
        raise RuntimeError(f"{SDK_PACKAGE} installed but cannot be imported from {venv}")
    python = str(_python(venv))
    return SdkEnv(venv, python, site_packages(python), versions, time.monotonic() - started)
