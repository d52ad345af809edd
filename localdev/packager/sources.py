"""The project's sources as the packager sees them: which functions exist, their contract, copying a package tree
without tests or caches, and staging a function's code (``functions/<pkg>/`` and ``shared/``)."""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

from localdev.packager.wheels import PackagingError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# deployable name -> package under functions/
FUNCTIONS: dict[str, str] = {
    "push-sync": "push_sync",
    "job-monitor": "job_monitor",
    "policy-export": "policy_export",
}

_SKIP_DIRS = {"__pycache__", "tests", "test", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis"}
_SKIP_SUFFIXES = (".pyc", ".pyo", "~", ".swp", ".orig", ".rej")
CLI_MODULES = frozenset({"cli.py"})  # a function's terminal commands: not part of its deploy package


def _skip_file(name: str) -> bool:
    return (
        name.endswith(_SKIP_SUFFIXES)
        or name in ("conftest.py", ".DS_Store")
        or (name.startswith("test_") and name.endswith(".py"))
        or name.endswith("_test.py")
    )


def copy_source(src: Path, dest: Path, skip: frozenset[str] = frozenset()) -> None:
    """Copy a package tree without tests, caches or editor debris (contents only, no metadata), nor files
    named in ``skip``."""
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        base = Path(dirpath)
        for name in sorted(filenames):
            if _skip_file(name) or name in skip:
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


def stage_code(root: Path, function: str, stage: Path) -> None:
    """The function's package and ``shared/``, without the terminal commands (``cli.py``: run by ``swr-sync``
    on an operator's machine, never imported by a handler; tests/packaging checks both)."""
    package = FUNCTIONS[function]
    pkg_dir = check_function(root, function)
    (stage / "functions").mkdir(parents=True)
    (stage / "functions" / "__init__.py").write_bytes((root / "functions" / "__init__.py").read_bytes())
    copy_source(pkg_dir, stage / "functions" / package, skip=CLI_MODULES)
    copy_source(root / "shared", stage / "shared")


def fresh(path: Path) -> None:
    """Remove what a previous build left at ``path``."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
