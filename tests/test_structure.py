"""The tree's structure holds (issue #21): no import circle, no upward import (floors: tooling > functions >
shared; layers inside shared/), no module over 400 lines outside tests. The same check prints the whole graph:
``python -m localdev.tools.imports``."""

from __future__ import annotations

from localdev.tools import imports

GRAPH = imports.build()
LONG = imports.long_modules(GRAPH)


def test_no_import_circle() -> None:
    found = imports.circles(GRAPH)
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_upward_import() -> None:
    arrows = imports.upward(GRAPH)
    assert not arrows, "upward imports: " + "; ".join(f"{s} -> {t}" for s, t in arrows)


def test_every_shared_package_has_a_layer() -> None:
    assert not imports.unlayered(GRAPH), "give these a layer in localdev/tools/imports.py SHARED_LAYERS"


def test_no_module_over_400_lines() -> None:
    assert not LONG, f"modules over {imports.MAX_LINES} lines: " + ", ".join(
        f"{m} ({n})" for m, n in LONG.items()
    )


def test_the_checks_see_what_they_look_for() -> None:
    """The graph is read: first-party modules and their arrows are found, so an empty finding means something."""
    assert {"shared.rules.patterns", "functions.push_sync.app", "localdev.tools.imports"} <= set(GRAPH.files)
    assert "shared.sync.batching" in GRAPH.edges["functions.push_sync.app"]
    edges = {name: set(targets) for name, targets in GRAPH.edges.items()}
    edges["shared.logs.redact"] = {"shared.swr.errors"}  # an upward arrow, made up
    edges["shared.swr.errors"] = {"shared.logs.redact"}
    made_up = imports.Graph(GRAPH.files, edges)
    assert ("shared.logs.redact", "shared.swr.errors") in imports.upward(made_up)
    assert ["shared.logs.redact", "shared.swr.errors"] in imports.circles(made_up)
