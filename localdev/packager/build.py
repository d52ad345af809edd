"""Assemble the deployable artifacts of every function.

FunctionGraph (per function, per target):
  ``functiongraph/<name>-py<X.Y>-<arch>.zip`` and the same tree unpacked next to it (Serverless Devs' ``fgs``
  component zips a *directory* itself, so ``template.yaml`` points at the directory). Zip root: ``index.py`` (a
  shim re-exporting ``functions.<pkg>.index.handler``), ``functions/__init__.py``, ``functions/<pkg>/``,
  ``shared/``, ``swr_sync_build.json`` and, with ``--deps bundled`` (default), the unpacked dependency wheels.
  With ``--deps layer`` the wheels go into one ``functiongraph/swr-sync-deps-py<X.Y>-<arch>.zip`` instead,
  packages at its root, to upload as a FunctionGraph dependency package.
OpenFaaS (per function): ``openfaas/<name>/``, a python3-http handler folder: ``handler.py`` re-exporting
  ``handle``, the same code, ``requirements.txt`` (exact pins), ``tox.ini`` + ``handler_test.py`` (the template's
  build stage runs ``tox`` in the handler folder).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localdev.packager import archive
from localdev.packager.wheels import (
    PackagingError,
    Pin,
    Target,
    ensure_wheels,
    runtime_pins,
    sha256_file,
    unpack_wheel,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# deployable name -> package under functions/
FUNCTIONS: dict[str, str] = {
    "push-sync": "push_sync",
    "job-monitor": "job_monitor",
    "policy-export": "policy_export",
}
DEPS_NAME = "swr-sync-deps"
MANIFEST_NAME = "swr_sync_build.json"
SDK_BASELINE_ZIPPED = 4_189_108  # docs/reference: huaweicloudsdkswr 3.1.219 + its dependencies, zip -9

_SKIP_DIRS = {"__pycache__", "tests", "test", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis"}
_SKIP_SUFFIXES = (".pyc", ".pyo", "~", ".swp", ".orig", ".rej")


@dataclass
class Options:
    target: Target
    out: Path
    functions: list[str]
    deps: str = "bundled"  # or "layer"
    cache_dir: Path = PROJECT_ROOT / "build" / "wheels"
    compile_with: str | None = None  # interpreter path; None = discover
    compile: bool = True
    offline: bool = False
    project_root: Path = PROJECT_ROOT
    lock: Path | None = None
    log: Callable[[str], None] = print


@dataclass
class Artifact:
    path: str  # relative to the output directory
    kind: str  # functiongraph-code | functiongraph-deps | openfaas-handler
    function: str | None
    zipped_bytes: int
    unpacked_bytes: int
    files: int
    sha256: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "artifact": self.path,
            "kind": self.kind,
            "function": self.function,
            "zipped_bytes": self.zipped_bytes,
            "unpacked_bytes": self.unpacked_bytes,
            "files": self.files,
            "sha256": self.sha256,
        }


@dataclass
class BuildResult:
    target: Target
    deps: str
    compiled_with: str | None
    pins: list[Pin]
    wheels: list[tuple[str, str]]  # (file name, sha256)
    artifacts: list[Artifact] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": {
                "python": self.target.python,
                "arch": self.target.arch,
                "platform": self.target.platform,
            },
            "deps": self.deps,
            "pyc": self.compiled_with,
            "requirements": [str(p) for p in self.pins],
            "wheels": [{"file": name, "sha256": digest} for name, digest in self.wheels],
            "artifacts": [a.as_dict() for a in self.artifacts],
            "baseline": {
                "what": "official SDK deploy (huaweicloudsdkswr 3.1.219 + dependencies), zip -9",
                "zipped_bytes": SDK_BASELINE_ZIPPED,
            },
        }


def code_zip_name(function: str, target: Target) -> str:
    return f"{function}-{target.suffix}"


def deps_zip_name(target: Target) -> str:
    return f"{DEPS_NAME}-{target.suffix}"


# -- project sources ----------------------------------------------------------------------------------------


def _skip_file(name: str) -> bool:
    return (
        name.endswith(_SKIP_SUFFIXES)
        or name in ("conftest.py", ".DS_Store")
        or (name.startswith("test_") and name.endswith(".py"))
        or name.endswith("_test.py")
    )


def copy_source(src: Path, dest: Path) -> None:
    """Copy a package tree without tests, caches or editor debris (contents only, no metadata)."""
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        base = Path(dirpath)
        for name in sorted(filenames):
            if _skip_file(name):
                continue
            target = dest / base.relative_to(src) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((base / name).read_bytes())


def module_names(path: Path) -> set[str]:
    """Names bound at the top level of a module (static: the package's dependencies may be absent)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for tgt in node.targets:
                names.update(n.id for n in ast.walk(tgt) if isinstance(n, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def check_function(root: Path, function: str) -> Path:
    """The package directory of ``function``, after checking the FunctionGraph/OpenFaaS contract."""
    if function not in FUNCTIONS:
        raise PackagingError(f"unknown function {function!r} (known: {', '.join(FUNCTIONS)})")
    pkg = root / "functions" / FUNCTIONS[function]
    index = pkg / "index.py"
    if not (pkg / "__init__.py").is_file() or not index.is_file():
        raise PackagingError(f"{function}: {pkg.relative_to(root)}/__init__.py and index.py must exist")
    missing = {"handler", "handle"} - module_names(index)
    if missing:
        raise PackagingError(
            f"{function}: {index.relative_to(root)} must define {' and '.join(sorted(missing))} "
            "(handler = APP.functiongraph_handler, handle = APP.openfaas_handle)"
        )
    return pkg


def existing_functions(root: Path = PROJECT_ROOT) -> list[str]:
    return [name for name, pkg in FUNCTIONS.items() if (root / "functions" / pkg / "index.py").is_file()]


# -- generated files ----------------------------------------------------------------------------------------

_FG_SHIM = '''"""FunctionGraph entry point of swr-sync {function} (generated by `swr-sync package`): handler `index.handler`."""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from functions.{package}.index import handler  # noqa: E402

__all__ = ["handler"]
'''

_OF_HANDLER = '''"""OpenFaaS python3-http entry point of swr-sync {function} (generated by `swr-sync package`).

The template imports this file as `function.handler`; the project's own packages (`shared`, `functions`) sit
next to it, so this folder goes on sys.path first.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from functions.{package}.index import handle  # noqa: E402

__all__ = ["handle"]
'''

_OF_TEST = '''"""Smoke test run by the python3-http template's build stage (`tox` in the handler folder)."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import handler  # noqa: E402


class _Event:
    body = b""
    headers = {{}}
    method = "GET"
    query = {{}}
    path = "/"


class _Context:
    hostname = "localhost"


def test_handle_is_exported():
    assert callable(handler.handle)


def test_answers_with_the_python3_http_shape():
    result = handler.handle(_Event(), _Context())
    assert isinstance(result, dict)
    assert isinstance(result["statusCode"], int)
    json.loads(result["body"])  # {function} always answers JSON
'''

_OF_TOX = """# Run by the python3-http template's build stage (`faas-cli build`; skip with --build-arg TEST_ENABLED=false).
[tox]
envlist = lint,test
skipsdist = true

[testenv:test]
deps =
    pytest
    -rrequirements.txt
commands =
    pytest -q -p no:cacheprovider handler_test.py

[testenv:lint]
deps =
    flake8
commands =
    flake8 .

[flake8]
count = true
select = E9,F63,F7,F82
show-source = true
statistics = true
"""


def _manifest(function: str, target: Target, deps: str, pins: list[Pin], compiled: str | None) -> bytes:
    data = {
        "function": function,
        "handler": "index.handler",
        "python": target.python,
        "arch": target.arch,
        "deps": deps,
        "requirements": [str(p) for p in pins],
        "pyc": compiled,
    }
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


# -- byte-code ----------------------------------------------------------------------------------------------


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


def compile_tree(python: str, root: Path, paths: list[Path]) -> None:
    """Write ``__pycache__/*.cpython-3X.pyc`` for ``paths`` (under ``root``), reproducibly.

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
        *map(str, paths),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise PackagingError(
            f"byte-compiling {root.name} failed:\n{(proc.stdout + proc.stderr).strip()[-2000:]}"
        )


# -- the build ----------------------------------------------------------------------------------------------


def _fresh(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _merge(src: Path, dest: Path) -> None:
    """Copy the tree ``src`` into ``dest``; any name collision is an error (deps must not shadow code)."""
    for child in sorted(src.iterdir()):
        if child.name == "__pycache__" and (dest / child.name).is_dir():
            # byte-code of top-level modules on both sides (index.py, typing_extensions.py)
            _merge(child, dest / child.name)
            continue
        if (dest / child.name).exists():
            raise PackagingError(f"dependency {child.name!r} collides with a file of the function code")
        if child.is_dir():
            shutil.copytree(child, dest / child.name)
        else:
            shutil.copyfile(child, dest / child.name)


def _zip_artifact(tree: Path, zip_path: Path, out: Path, kind: str, function: str | None) -> Artifact:
    archive.write_zip(tree, zip_path)
    stats = archive.tree_stats(tree)
    return Artifact(
        zip_path.relative_to(out).as_posix(),
        kind,
        function,
        zip_path.stat().st_size,
        stats.unpacked_bytes,
        stats.files,
        archive.sha256(zip_path),
    )


def _stage_code(root: Path, function: str, stage: Path) -> None:
    package = FUNCTIONS[function]
    pkg_dir = check_function(root, function)
    (stage / "functions").mkdir(parents=True)
    (stage / "functions" / "__init__.py").write_bytes((root / "functions" / "__init__.py").read_bytes())
    copy_source(pkg_dir, stage / "functions" / package)
    copy_source(root / "shared", stage / "shared")


def build(opts: Options) -> BuildResult:
    root = opts.project_root
    target = opts.target
    if opts.deps not in ("bundled", "layer"):
        raise PackagingError(f"--deps: expected bundled or layer, got {opts.deps!r}")
    for function in opts.functions:
        check_function(root, function)
    pins = runtime_pins(target, opts.lock)
    compiler = find_compiler(target, opts.compile_with) if opts.compile else None
    if opts.compile and compiler is None:
        opts.log(
            f"note: no CPython {target.python} interpreter found (pass --compile-with PATH): the FunctionGraph "
            "zips will carry sources only, which costs cold-start time (about 200 ms for pydantic+structlog)"
        )
    compiled = f"cpython-{target.nodot}" if compiler else None
    wheels = ensure_wheels(target, opts.cache_dir, pins, offline=opts.offline)
    result = BuildResult(target, opts.deps, compiled, pins, [(w.name, sha256_file(w)) for w in wheels])

    out = opts.out
    fg_dir = out / "functiongraph"
    of_dir = out / "openfaas"
    fg_dir.mkdir(parents=True, exist_ok=True)
    of_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix=".swr-sync-package-", dir=out) as tmp_name:
        tmp = Path(tmp_name)
        deps = tmp / "deps"
        deps.mkdir()
        for wheel in wheels:
            unpack_wheel(wheel, deps)
        if compiler:
            compile_tree(compiler, deps, [deps])

        if opts.deps == "layer":
            zip_path = fg_dir / f"{deps_zip_name(target)}.zip"
            result.artifacts.append(_zip_artifact(deps, zip_path, out, "functiongraph-deps", None))

        for function in opts.functions:
            # FunctionGraph code package
            stage = tmp / function
            _stage_code(root, function, stage)
            (stage / "index.py").write_text(
                _FG_SHIM.format(function=function, package=FUNCTIONS[function]), encoding="utf-8"
            )
            (stage / MANIFEST_NAME).write_bytes(_manifest(function, target, opts.deps, pins, compiled))
            if compiler:
                compile_tree(compiler, stage, [stage / "index.py", stage / "functions", stage / "shared"])
            if opts.deps == "bundled":
                _merge(deps, stage)
            name = code_zip_name(function, target)
            final_tree = fg_dir / name
            _fresh(final_tree)
            stage.rename(final_tree)
            result.artifacts.append(
                _zip_artifact(final_tree, fg_dir / f"{name}.zip", out, "functiongraph-code", function)
            )

            # OpenFaaS python3-http handler folder
            handler_dir = of_dir / function
            _fresh(handler_dir)
            _stage_code(root, function, handler_dir)
            context = {"function": function, "package": FUNCTIONS[function]}
            (handler_dir / "handler.py").write_text(_OF_HANDLER.format(**context), encoding="utf-8")
            (handler_dir / "handler_test.py").write_text(_OF_TEST.format(**context), encoding="utf-8")
            (handler_dir / "tox.ini").write_text(_OF_TOX, encoding="utf-8")
            (handler_dir / "requirements.txt").write_text(
                "# the runtime pins of requirements.lock with their hashes (generated by `swr-sync package`)\n"
                + "".join(p.requirement_text() for p in pins),
                encoding="utf-8",
            )
            of_zip = tmp / f"{function}-openfaas.zip"
            archive.write_zip(handler_dir, of_zip)  # only to report a comparable zipped size
            stats = archive.tree_stats(handler_dir)
            result.artifacts.append(
                Artifact(
                    handler_dir.relative_to(out).as_posix() + "/",
                    "openfaas-handler",
                    function,
                    of_zip.stat().st_size,
                    stats.unpacked_bytes,
                    stats.files,
                )
            )

    (out / "sizes.json").write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
    return result


def size_table(result: BuildResult) -> str:
    rows = [("artifact", "zipped B", "unpacked B", "files", "vs SDK zip")]
    for a in result.artifacts:
        rows.append(
            (
                a.path,
                f"{a.zipped_bytes:,}",
                f"{a.unpacked_bytes:,}",
                f"{a.files:,}",
                f"{a.zipped_bytes / SDK_BASELINE_ZIPPED:.0%}",
            )
        )
    rows.append(
        ("official SDK deploy (huaweicloudsdkswr + deps)", f"{SDK_BASELINE_ZIPPED:,}", "", "2,272", "100%")
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
