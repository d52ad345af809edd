"""(a) the `make package` build, artifact layout and size report; (c) byte-identical rebuilds; the lock."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from localdev.packager import archive, main
from localdev.packager.build import (
    FUNCTIONS,
    MANIFEST_NAME,
    SDK_BASELINE_ZIPPED,
    deps_zip_name,
    existing_functions,
)
from localdev.packager.wheels import (
    KEEP_ONLY,
    PRUNE,
    PackagingError,
    Target,
    WheelName,
    runtime_pins,
    strip_symbols,
    trim_metadata,
)
from tests.packaging.conftest import Build, host_target, run_package, skip_if_absent

pytestmark = pytest.mark.packaging

CODE_TOP = {"index.py", "functions", "shared", MANIFEST_NAME, "__pycache__"}


def names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.namelist()


# -- (a) the build -------------------------------------------------------------------------------------------


def test_make_package_equivalent_builds_every_artifact(default_build: Build) -> None:
    sizes = default_build.sizes
    assert sizes["target"] == {"python": "3.12", "arch": "x86_64", "platform": "manylinux_2_28_x86_64"}
    assert sizes["deps"] == "bundled"
    kinds = {(a["kind"], a["function"]) for a in sizes["artifacts"]}
    for function in default_build.functions:
        assert default_build.zip(function).is_file()
        assert default_build.tree(function).is_dir(), "Serverless Devs needs the unpacked directory"
        assert (default_build.openfaas(function) / "handler.py").is_file()
        assert ("functiongraph-code", function) in kinds
        assert ("openfaas-handler", function) in kinds
    for artifact in sizes["artifacts"]:
        path = default_build.out / artifact["artifact"]
        assert path.exists(), artifact
        assert artifact["files"] > 0 and artifact["unpacked_bytes"] > 0 and artifact["zipped_bytes"] > 0
        if artifact["kind"] == "functiongraph-code":
            assert artifact["zipped_bytes"] == path.stat().st_size
            assert artifact["sha256"] == archive.sha256(path)
            stats = archive.tree_stats(default_build.out / artifact["artifact"].removesuffix(".zip"))
            assert (stats.files, stats.unpacked_bytes) == (artifact["files"], artifact["unpacked_bytes"])
    assert sizes["baseline"]["zipped_bytes"] == SDK_BASELINE_ZIPPED


def test_every_function_exists_by_now() -> None:
    missing = [f for f in FUNCTIONS if f not in existing_functions()]
    if missing:
        pytest.skip(f"not written yet: {', '.join(missing)} (their artifacts are skipped, not failed)")


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_code_zip_layout(default_build: Build, function: str) -> None:
    skip_if_absent(function)
    entries = names(default_build.zip(function))
    assert entries == sorted(entries), "entries must be sorted"
    top = {e.split("/", 1)[0] for e in entries}
    assert "index.py" in top, "the entry file must be at the zip root"
    assert {"functions", "shared", "pydantic", "pydantic_core", "structlog"} <= top
    package = FUNCTIONS[function]
    assert "functions/__init__.py" in entries
    assert f"functions/{package}/index.py" in entries
    others = {p for p in FUNCTIONS.values() if p != package}
    assert not any(
        e.split("/")[1] in others for e in entries if e.startswith("functions/") and e.count("/") > 1
    )
    for entry in entries:
        parts = entry.rstrip("/").split("/")
        assert "tests" not in parts[:-1] and "__pycache__" not in parts[:-2], entry
        assert not parts[-1].endswith(("~", ".pyi")), entry
        if parts[0] in ("functions", "shared", "index.py"):
            assert not parts[-1].startswith("test_") and parts[-1] != "conftest.py", entry
            # no .pyc for 3.12 unless a 3.12 interpreter was found; never a stray one for another version
            assert not parts[-1].endswith(".pyc") or parts[-1].endswith(".cpython-312.pyc"), entry
    core = [e for e in entries if e.startswith("pydantic_core/_pydantic_core.")]
    assert core == ["pydantic_core/_pydantic_core.cpython-312-x86_64-linux-gnu.so"]
    with zipfile.ZipFile(default_build.zip(function)) as zf:
        shim = zf.read("index.py").decode()
        manifest = json.loads(zf.read(MANIFEST_NAME))
        for info in zf.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 in (0o100644, 0o040755)
    assert f"from functions.{package}.index import handler" in shim
    assert manifest["function"] == function and manifest["python"] == "3.12" and manifest["arch"] == "x86_64"
    assert manifest["requirements"] == [str(p) for p in runtime_pins(Target("3.12", "x86_64"))]


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_dist_info_is_lean(default_build: Build, function: str) -> None:
    skip_if_absent(function)
    entries = names(default_build.zip(function))
    dist_info = [e for e in entries if ".dist-info/" in e and not e.endswith("/")]
    assert not [e for e in dist_info if e.endswith(("/RECORD", "/WHEEL", "/INSTALLER"))]
    metadata = [e for e in dist_info if e.endswith("/METADATA")]
    assert len(metadata) == len(runtime_pins(Target("3.12", "x86_64")))
    assert any("/licenses/" in e for e in dist_info), "licence texts travel with the code"
    assert not [e for e in entries if e.startswith(PRUNE)]
    for prefix, keep in KEEP_ONLY.items():
        kept = {
            e[len(prefix) :].replace("__pycache__/", "").split(".")[0] + ".py"
            for e in entries
            if e.startswith(prefix) and not e.endswith("/")
        }
        assert kept <= keep, f"{prefix}: only what a function imports is shipped"
    with zipfile.ZipFile(default_build.zip(function)) as zf:
        for entry in metadata:
            assert len(zf.read(entry)) < 8000, f"{entry}: the long description is dropped"


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_openfaas_handler_folder(default_build: Build, function: str) -> None:
    skip_if_absent(function)
    folder = default_build.openfaas(function)
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"handler.py", "requirements.txt", "tox.ini", "handler_test.py", "functions/__init__.py"} <= files
    assert f"functions/{FUNCTIONS[function]}/index.py" in files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc") or "/tests/" in f]
    assert not [f for f in files if f.startswith(("pydantic", "structlog"))], (
        "the image installs requirements"
    )
    requirements = (folder / "requirements.txt").read_text().split("\n")
    pins = [line.rstrip(" \\") for line in requirements if line and not line.startswith(("#", " "))]
    assert pins == [str(p) for p in runtime_pins(Target("3.12", "x86_64"))]
    assert any(p.startswith("pydantic==") for p in pins) and any(p.startswith("structlog==") for p in pins)
    assert "".join(p.requirement_text() for p in runtime_pins(Target("3.12", "x86_64"))) in "\n".join(
        requirements
    ), "every pin carries the lock's hashes, so the image's pip runs in hash-checking mode"
    handler = (folder / "handler.py").read_text()
    assert f"from functions.{FUNCTIONS[function]}.index import handle" in handler


def test_size_report_is_printed_and_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    functions = existing_functions()
    if not functions:
        pytest.skip("no function package exists yet")
    argv = ["--out", str(tmp_path / "dist"), "--no-compile", "--function", functions[0]]
    run_package(argv)  # fills the wheel cache, or fails with the network hint
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "zipped B" in out and "unpacked B" in out and "files" in out
    assert f"{SDK_BASELINE_ZIPPED:,}" in out
    assert (tmp_path / "dist" / "sizes.json").is_file()


def test_layer_mode_splits_dependencies(tmp_path: Path) -> None:
    functions = existing_functions()
    if not functions:
        pytest.skip("no function package exists yet")
    out = tmp_path / "dist"
    run_package(["--out", str(out), "--deps", "layer", "--no-compile", "--function", functions[0]])
    target = Target("3.12", "x86_64")
    deps = out / "functiongraph" / f"{deps_zip_name(target)}.zip"
    deps_top = {e.split("/", 1)[0] for e in names(deps)}
    assert {"pydantic", "pydantic_core", "structlog", "typing_extensions.py"} <= deps_top
    assert not deps_top & {"index.py", "functions", "shared"}, "code and dependencies must not share names"
    code = out / "functiongraph" / f"{functions[0]}-{target.suffix}.zip"
    code_top = {e.split("/", 1)[0] for e in names(code)}
    assert code_top <= CODE_TOP
    sizes = json.loads((out / "sizes.json").read_text())
    assert {a["kind"] for a in sizes["artifacts"]} == {
        "functiongraph-deps",
        "functiongraph-code",
        "openfaas-handler",
    }


def test_cli_errors_are_clean(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--function", "no-such-function", "--out", str(tmp_path)]) == 1
    assert "unknown function" in capsys.readouterr().err
    assert main(["--python", "3", "--out", str(tmp_path)]) == 1
    with pytest.raises(SystemExit):
        main(["--arch", "mips"])


def test_swr_sync_dispatches_package(capsys: pytest.CaptureFixture[str]) -> None:
    from localdev.cli import main as swr_sync

    with pytest.raises(SystemExit) as exc:
        swr_sync(["package", "--help"])
    assert exc.value.code == 0
    assert "--deps" in capsys.readouterr().out


# -- (c) reproducibility -------------------------------------------------------------------------------------


def _all_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    """Two builds from the same sources into different directories: the same bytes, .pyc included."""
    functions = existing_functions()
    if not functions:
        pytest.skip("no function package exists yet")
    target = host_target()  # this interpreter matches, so byte-code is compiled and compared too
    outs = []
    for n in (1, 2):  # back to back, so that nobody edits the sources in between
        out = tmp_path / f"build{n}" / "dist"
        argv = ["--python", target.python, "--arch", target.arch, "--out", str(out)]
        run_package(argv + [arg for f in functions for arg in ("--function", f)])
        outs.append(out)
    first, second = (_all_files(o) for o in outs)
    assert first.keys() == second.keys()
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, f"not reproducible: {differing[:10]}"
    assert any(name.endswith(f".cpython-{target.nodot}.pyc") for name in first), "byte-code was compiled"
    assert json.loads(first["sizes.json"])["pyc"] == f"cpython-{target.nodot}"


# -- the lock and the wheels ---------------------------------------------------------------------------------


def test_packaged_runtime_is_the_locked_closure_of_the_declared_dependencies() -> None:
    """What the zips ship is derived from requirements.lock: the dependencies pyproject declares and theirs."""
    for target in (Target("3.10", "x86_64"), Target("3.12", "x86_64"), Target("3.12", "arm64")):
        pins = {p.name: p for p in runtime_pins(target)}
        assert {"pydantic", "pydantic-core", "structlog", "typing-extensions"} <= set(pins)
        assert not {"pytest", "ruff", "huaweicloudsdkcore", "redis"} & set(pins), "nothing of dev ships"
        for pin in pins.values():
            assert pin.hashes and all(h.startswith("sha256:") for h in pin.hashes)
            # the shipped version is the one the whole test suite runs with
            assert importlib.metadata.version(pin.name) == pin.version, f"{pin}: the venv has another version"


@pytest.mark.parametrize(
    ("filename", "target", "fits"),
    [
        (
            "pydantic_core-2.50.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            ("3.12", "x86_64"),
            True,
        ),
        (
            "pydantic_core-2.50.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            ("3.10", "x86_64"),
            False,
        ),
        (
            "pydantic_core-2.50.4-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
            ("3.12", "x86_64"),
            False,
        ),
        (
            "pydantic_core-2.50.4-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
            ("3.12", "arm64"),
            True,
        ),
        ("pydantic_core-2.50.4-cp312-cp312-musllinux_1_1_x86_64.whl", ("3.12", "x86_64"), False),
        ("pydantic-2.14.3-py3-none-any.whl", ("3.10", "arm64"), True),
        ("foo-1.0-cp39-abi3-manylinux2014_x86_64.whl", ("3.12", "x86_64"), True),
        ("foo-1.0-cp313-abi3-manylinux2014_x86_64.whl", ("3.12", "x86_64"), False),
    ],
)
def test_wheel_tag_matching(filename: str, target: tuple[str, str], fits: bool) -> None:
    wheel = WheelName.parse(filename)
    assert wheel is not None
    assert wheel.fits(Target(*target)) is fits


def test_metadata_trimming_keeps_the_headers() -> None:
    raw = b"Metadata-Version: 2.4\nName: x\nVersion: 1.0\n\n# A long README\n\nmore\n"
    assert trim_metadata(raw) == b"Metadata-Version: 2.4\nName: x\nVersion: 1.0\n"


def test_offline_without_cache_fails_clearly(tmp_path: Path) -> None:
    from localdev.packager.wheels import ensure_wheels

    with pytest.raises(PackagingError, match="--offline"):
        ensure_wheels(
            Target("3.12", "x86_64"),
            tmp_path / "empty-cache",
            runtime_pins(Target("3.12", "x86_64")),
            offline=True,
        )


def test_missing_network_fails_with_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from localdev.packager.wheels import ensure_wheels

    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens on the discard port
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "1")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    with pytest.raises(PackagingError, match="network access to the package index"):
        ensure_wheels(
            Target("3.12", "x86_64"),
            tmp_path / "cache",
            runtime_pins(Target("3.12", "x86_64"))[:1],
            log=False,
        )


def test_the_redis_extra_ships_redis_py_and_its_own_needs() -> None:
    """STATE_REDIS_URL needs redis-py at run time: `swr-sync package --extra redis` ships it with what it needs on
    the target's Python (async-timeout below 3.11.3), all from the lock."""
    old = {p.name for p in runtime_pins(Target("3.10", "x86_64"), extras=("redis",))}
    new = {p.name for p in runtime_pins(Target("3.12", "x86_64"), extras=("redis",))}
    assert {"redis", "async-timeout"} <= old and "redis" in new and "async-timeout" not in new
    assert "redis" not in {p.name for p in runtime_pins(Target("3.12", "x86_64"))}, "only when asked"
    with pytest.raises(PackagingError, match="unknown runtime extra"):
        runtime_pins(Target("3.12", "x86_64"), extras=("bogus",))


def test_a_wheel_needing_what_does_not_ship_is_refused(tmp_path: Path) -> None:
    from localdev.packager.wheels import Pin, check_closure

    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(
            "demo-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: needed>=1\n"
            "Requires-Dist: backport; python_version < '3.11'\nRequires-Dist: extra-only; extra == 'x'\n\nbody\n",
        )
    pins = [Pin("demo", "1.0"), Pin("needed", "1.0")]
    check_closure([wheel], pins, Target("3.12", "x86_64"))  # backport and the extra do not apply
    with pytest.raises(PackagingError, match="backport"):
        check_closure([wheel], pins, Target("3.10", "x86_64"))


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_pruned_packaging_still_parses_versions(host_build: Build, function: str, tmp_path: Path) -> None:
    """What the semver rules import of ``packaging`` (pure Python) imports and works in the pruned tree alone
    (this interpreter's build: the dependencies ship as its byte-code only)."""
    skip_if_absent(function)
    with zipfile.ZipFile(host_build.zip(function)) as zf:
        zf.extractall(tmp_path, [e for e in zf.namelist() if e.startswith("packaging/")])
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from packaging.specifiers import SpecifierSet; from packaging.version import Version;"
        "assert Version('1.4.2') in SpecifierSet('>=1.2,<2,!=1.3.*');"
        "assert sorted(m for m in sys.modules if m.startswith('packaging')) == "
        "['packaging', 'packaging._ranges', 'packaging.specifiers', 'packaging.version'], sys.modules"
    )
    subprocess.run([sys.executable, "-I", "-S", "-c", code, str(tmp_path)], check=True, timeout=60)


@pytest.mark.skipif(shutil.which("strip") is None, reason="binutils' strip is not installed")
def test_native_extensions_ship_stripped_and_still_work(host_build: Build, tmp_path: Path) -> None:
    """google-re2's extension carries a symbol table it does not need: the zip ships it stripped (#22), and the
    stripped library still loads and matches, alone in the unpacked zip."""
    import re2

    installed = Path(re2.__file__).parent
    (library,) = [p for p in installed.iterdir() if p.name.startswith("_re2") and p.name.endswith(".so")]
    with zipfile.ZipFile(host_build.zip("push-sync")) as zf:
        shipped = zf.getinfo(f"re2/{library.name}")
        assert shipped.file_size < library.stat().st_size, "the zipped re2 extension was not stripped"
        zf.extractall(tmp_path, [e for e in zf.namelist() if e.startswith(("re2/", "google_re2"))])
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import re2;"
        "assert re2.compile(r'v[0-9]+(\\.[0-9]+)*').fullmatch('v1.22') and not re2.fullmatch('a+', 'ab')"
    )
    subprocess.run([sys.executable, "-I", "-S", "-c", code, str(tmp_path)], check=True, timeout=60)


def test_strip_leaves_a_file_it_cannot_read_unchanged(tmp_path: Path) -> None:
    """An aarch64 library on an x86_64 machine (or no binutils at all): kept as it is, never broken."""
    library = tmp_path / "_ext.cpython-312-aarch64-linux-gnu.so"
    library.write_bytes(b"\x7fELF not really a library")
    assert strip_symbols(library) is False
    assert library.read_bytes() == b"\x7fELF not really a library"
    assert sorted(p.name for p in tmp_path.iterdir()) == [library.name]


def test_dep_sources_ships_the_dependencies_sources_beside_their_byte_code(tmp_path: Path) -> None:
    """``--dep-sources``: for debugging a dependency, its frames with their text; the default ships its
    byte-code only (test_deployable_zip_runs_on_its_own_python checks that layout)."""
    target = host_target()
    out = tmp_path / "dist"
    run_package(["--out", str(out), "--python", target.python, "--dep-sources", "--function", "push-sync"])
    tag = f"cpython-{target.python.replace('.', '')}"
    with zipfile.ZipFile(out / "functiongraph" / f"push-sync-py{target.python}-{target.arch}.zip") as zf:
        names = zf.namelist()
    assert "pydantic/main.py" in names and f"pydantic/__pycache__/main.{tag}.pyc" in names
    assert "pydantic/main.pyc" not in names


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_terminal_commands_stay_out_of_the_function_zips(default_build: Build, function: str) -> None:
    """``cli.py`` is run by ``swr-sync`` on an operator's machine; the handler never imports it (the packaged
    sample events run without it: tests/packaging/test_functiongraph_zip.py)."""
    skip_if_absent(function)
    entries = names(default_build.zip(function))
    assert any(e.startswith(f"functions/{FUNCTIONS[function]}/") for e in entries)
    assert not [e for e in entries if e.startswith("functions/") and e.rsplit("/", 1)[-1].startswith("cli.")]
