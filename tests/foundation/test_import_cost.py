"""Cold-start guard: modules not needed on the handler path are not imported (checked with ``-X importtime``).

``import structlog`` imports ``structlog.stdlib``, which imports ``asyncio`` (and with it ``concurrent.futures``,
``ssl``, ``subprocess``); pydantic imports ``importlib.metadata``. Entry points import :mod:`shared.boot` first,
which defers those until used, so the entry modules are checked for them too (see docs/import-cost.md).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_LINE = re.compile(r"import time:\s+\d+ \|\s+\d+ \|\s*(\S+)")

# Never on any handler path: the official SDK's HTTP stack.
HEAVY_HTTP = [
    "requests",
    "urllib3",
    "huaweicloudsdkcore",
    "huaweicloudsdkswr",
    "charset_normalizer",
    "idna",
    "certifi",
]


def imported_modules(statement: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = {m.group(1) for line in proc.stderr.splitlines() if (m := _LINE.match(line))}
    assert modules, "no -X importtime output"
    return modules


def _top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_handler_path_does_not_import_heavy_http_stacks() -> None:
    modules = imported_modules("import shared.runtime.app, shared.runtime.connect")
    assert {"shared.runtime.app", "shared.runtime.connect", "shared.swr.client"} <= modules
    assert not _top_level(modules) & set(HEAVY_HTTP)


def test_client_needs_no_asyncio_threads_pool_or_logging_stack() -> None:
    modules = imported_modules(
        "import shared.swr.client, shared.swr.auth, shared.swr.http, shared.swr.signer, shared.swr.names"
    )
    assert not _top_level(modules) & set(HEAVY_HTTP)
    for name in ("asyncio", "concurrent.futures", "structlog", "logging", "multiprocessing"):
        assert name not in modules, f"shared.swr.client imports {name}"


def test_signer_and_names_are_stdlib_only() -> None:
    modules = imported_modules("import shared.swr.signer, shared.swr.names, shared.logs.redact")
    assert not {"pydantic", "structlog", "asyncio", "urllib.request", "http.client"} & modules


FUNCTION_ENTRIES = sorted(p.parent.name for p in (ROOT / "functions").glob("*/index.py"))


@pytest.mark.parametrize("function", FUNCTION_ENTRIES)
def test_function_entry_modules_do_not_import_heavy_http_stacks(function: str) -> None:
    modules = imported_modules(f"import functions.{function}.index")
    assert not _top_level(modules) & set(HEAVY_HTTP)


@pytest.mark.parametrize("function", FUNCTION_ENTRIES)
def test_function_entry_modules_defer_what_no_call_uses(function: str) -> None:
    modules = imported_modules(f"import functions.{function}.index")
    deferred = ["asyncio", "ssl", "importlib.metadata", "zipfile"]
    if function != "policy_export":  # every export fetches through a thread pool: imported with the handler
        deferred.append("concurrent.futures")
    for name in deferred:
        assert name not in modules, f"functions.{function}.index imports {name}"


def test_re2_is_imported_only_when_a_rule_needs_a_regex() -> None:
    globs = imported_modules(
        "from shared.rules import RuleSet; "
        'RuleSet.parse(\'[{"namespace": "demo", "repository": "team/**", '
        '"targets": [{"region": "cn-north-4", "namespace": "dr"}]}]\')'
    )
    assert "re2" not in globs
    regex = imported_modules(
        "from shared.rules import RuleSet; "
        'RuleSet.parse(\'[{"tags": {"include": ["v[0-9]+"]}, '
        '"targets": [{"region": "cn-north-4", "namespace": "dr"}]}]\')'
    )
    assert "re2" in regex
