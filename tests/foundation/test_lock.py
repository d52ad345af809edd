"""requirements.lock is the one source of every installed and shipped package (localdev/lockfile.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from localdev import lockfile

ROOT = Path(__file__).resolve().parents[2]
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
MACHINES = ("x86_64", "aarch64")


def test_the_venv_holds_exactly_the_lock() -> None:
    problems, extra = lockfile.differences(lockfile.read(), lockfile.installed(), lockfile.environment())
    assert problems == [], "\n".join(problems)
    assert extra == []


def test_a_drifted_venv_is_named_package_by_package() -> None:
    entries = [
        lockfile.Entry("pydantic", "2.0.0", None, ("sha256:aa",)),
        lockfile.Entry("tomli", "2.0.0", "python_version < '3.11'", ("sha256:bb",)),
        lockfile.Entry("ruff", "0.1.0", None, ("sha256:cc",)),
    ]
    env = lockfile.environment("3.12", "x86_64")
    have = {"pydantic": "2.0.1", "requests": "2.0", "pip": "24.0", "swr-sync": "0.1.0"}
    problems, extra = lockfile.differences(entries, have, env)
    assert problems == [
        "other version: pydantic 2.0.1 installed, the lock pins 2.0.0",
        "missing: ruff==0.1.0",
        "not in the lock: requests 2.0",
    ]
    assert extra == ["requests"]  # tomli does not apply on 3.12; pip and the project are never locked


def test_every_entry_is_pinned_with_hashes() -> None:
    entries = lockfile.read()
    assert len(entries) > 20
    for entry in entries:
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", entry.version), entry
        assert entry.hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in entry.hashes), entry


def test_a_lock_entry_without_hash_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("pydantic==2.0.0\n    # via swr-sync\n", encoding="utf-8")
    with pytest.raises(lockfile.LockError, match=r"pydantic==2\.0\.0 has no --hash"):
        lockfile.read(lock)


def _declared() -> list[Requirement]:
    """Every requirement of pyproject.toml, runtime and every extra (as the installed project reports them)."""
    import importlib.metadata

    return [Requirement(text) for text in importlib.metadata.requires(lockfile.PROJECT) or []]


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("machine", MACHINES)
def test_the_lock_satisfies_pyproject_on_every_supported_python(python: str, machine: str) -> None:
    """Resolved for 3.10-3.13 on both CPUs: one pin per package, inside every range pyproject declares
    (editing pyproject.toml without `make lock` fails here)."""
    env = lockfile.environment(python, machine)
    pins = lockfile.pins_for(lockfile.read(), env)
    extras = {"redis", "test", "lint", "sdk", "tooling", "fuzz", "dev"}
    for req in _declared():
        if req.marker is not None and not any(req.marker.evaluate({**env, "extra": e}) for e in extras):
            continue
        name = lockfile.normalise(req.name)
        if name == lockfile.PROJECT:  # the dev extra names the other extras
            continue
        assert name in pins, f"{req} is declared but not locked for Python {python}"
        assert req.specifier.contains(pins[name].version, prereleases=True), f"{pins[name]} breaks {req}"


def test_runtime_closure_follows_markers_and_extras() -> None:
    entries = [
        lockfile.Entry("a", "1", None, ("sha256:1",)),
        lockfile.Entry("b", "1", None, ("sha256:2",)),
        lockfile.Entry("c", "1", "python_version < '3.11'", ("sha256:3",)),
        lockfile.Entry("d", "1", None, ("sha256:4",)),
        lockfile.Entry("e", "1", None, ("sha256:5",)),
    ]
    graph = {
        "a": ["b>=1", "c; python_version < '3.11'", "d; extra == 'fast'"],
        "b": ["a"],  # a cycle ends
        "c": [],
        "d": ["e"],
        "e": None,
    }
    old = lockfile.closure(["a"], lockfile.environment("3.10", "x86_64"), entries, graph.get)
    new = lockfile.closure(["a[fast]"], lockfile.environment("3.12", "x86_64"), entries, graph.get)
    assert [e.name for e in old] == ["a", "b", "c"]
    assert [e.name for e in new] == ["a", "b", "d", "e"]
    with pytest.raises(lockfile.LockError, match="zz is needed"):
        lockfile.closure(["zz"], lockfile.environment(), entries, graph.get)


def test_installs_never_resolve() -> None:
    """Every pip install in the build files is hash-checked with --no-deps (or the editable project itself)."""
    for path in (ROOT / "Makefile", ROOT / ".ci" / "run", ROOT / "bench" / "sdkenv.py"):
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            if re.search(r"pip\b.*\binstall\b", line) and "uninstall" not in line:
                editable = "-e ." in line and "--no-build-isolation" in line
                assert "--no-deps" in line or '"--no-deps"' in text, f"{path.name}: {line.strip()}"
                assert editable or "--require-hashes" in line or '"--require-hashes"' in text, (
                    f"{path.name}: {line.strip()}"
                )
    assert not (ROOT / "localdev" / "packager" / "requirements.lock").exists(), "one lock, not two"
