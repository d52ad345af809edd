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

Modules: ``sources.py`` (functions, their contract, staging), ``functiongraph.py`` (shim, manifest, names),
``openfaas.py`` (the handler folder), ``bytecode.py`` (pyc), ``sizes.py`` (artifacts, ``sizes.json``, the table);
this one orchestrates the build.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from localdev.packager import openfaas
from localdev.packager.bytecode import compile_tree, find_compiler
from localdev.packager.functiongraph import (
    FG_SHIM,
    MANIFEST_NAME,
    code_zip_name,
    deps_zip_name,
    manifest,
    merge,
)
from localdev.packager.sizes import SDK_BASELINE_ZIPPED, Artifact, BuildResult, size_table, zip_artifact
from localdev.packager.sources import (
    FUNCTIONS,
    PROJECT_ROOT,
    check_function,
    existing_functions,
    fresh,
    stage_code,
)
from localdev.packager.wheels import (
    PackagingError,
    Pin,
    Target,
    check_closure,
    ensure_wheels,
    runtime_pins,
    sha256_file,
    unpack_wheel,
)

# What callers and tests import from here (the build's public surface), wherever it lives.
__all__ = [
    "FUNCTIONS",
    "MANIFEST_NAME",
    "PROJECT_ROOT",
    "SDK_BASELINE_ZIPPED",
    "Options",
    "build",
    "code_zip_name",
    "deps_zip_name",
    "existing_functions",
    "find_compiler",
    "size_table",
]


@dataclass
class Options:
    target: Target
    out: Path
    functions: list[str]
    deps: str = "bundled"  # or "layer"
    cache_dir: Path = PROJECT_ROOT / "build" / "wheels"
    compile_with: str | None = None  # interpreter path; None = discover
    compile: bool = True
    dep_sources: bool = False  # ship the dependencies' .py too (else their byte-code only, when compiling)
    offline: bool = False
    project_root: Path = PROJECT_ROOT
    lock: Path | None = None
    extras: list[str] = field(default_factory=list)  # optional runtime extras shipped too (redis)
    log: Callable[[str], None] = print


def build(opts: Options) -> BuildResult:
    root = opts.project_root
    target = opts.target
    if opts.deps not in ("bundled", "layer"):
        raise PackagingError(f"--deps: expected bundled or layer, got {opts.deps!r}")
    for function in opts.functions:
        check_function(root, function)
    pins = runtime_pins(target, opts.lock, tuple(opts.extras))
    compiler = find_compiler(target, opts.compile_with) if opts.compile else None
    if opts.compile and compiler is None:
        opts.log(
            f"note: no CPython {target.python} interpreter found (pass --compile-with PATH): the FunctionGraph "
            "zips will carry sources only, which costs cold-start time (about 200 ms for pydantic+structlog)"
        )
    compiled = f"cpython-{target.nodot}" if compiler else None
    wheels = ensure_wheels(target, opts.cache_dir, pins, offline=opts.offline)
    check_closure(wheels, pins, target)
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
            compile_tree(compiler, deps, [deps], sourceless=not opts.dep_sources)

        if opts.deps == "layer":
            zip_path = fg_dir / f"{deps_zip_name(target)}.zip"
            result.artifacts.append(zip_artifact(deps, zip_path, out, "functiongraph-deps", None))

        for function in opts.functions:
            result.artifacts.append(_functiongraph_code(opts, function, tmp, deps, pins, compiler, compiled))
            result.artifacts.append(openfaas.package_handler(root, function, of_dir, pins, tmp, out))

    (out / "sizes.json").write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
    return result


def _functiongraph_code(
    opts: Options,
    function: str,
    tmp: Path,
    deps: Path,
    pins: list[Pin],
    compiler: str | None,
    compiled: str | None,
) -> Artifact:
    """One function's FunctionGraph code package: staged in ``tmp``, shimmed, compiled, deps merged if bundled,
    moved to ``functiongraph/`` and zipped there."""
    root, target, out = opts.project_root, opts.target, opts.out
    fg_dir = out / "functiongraph"
    stage = tmp / function
    stage_code(root, function, stage)
    (stage / "index.py").write_text(
        FG_SHIM.format(function=function, package=FUNCTIONS[function]), encoding="utf-8"
    )
    (stage / MANIFEST_NAME).write_bytes(manifest(function, target, opts.deps, pins, compiled))
    if compiler:
        compile_tree(compiler, stage, [stage / "index.py", stage / "functions", stage / "shared"])
    if opts.deps == "bundled":
        merge(deps, stage)
    name = code_zip_name(function, target)
    final_tree = fg_dir / name
    fresh(final_tree)
    stage.rename(final_tree)
    return zip_artifact(final_tree, fg_dir / f"{name}.zip", out, "functiongraph-code", function)
