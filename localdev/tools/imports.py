"""The first-party import graph: floors, layers, circles, upward arrows and long modules.

Run ``python -m localdev.tools.imports`` (exit status 1 if it finds anything). ``tests/test_structure.py``
asserts the same rules, so they hold on every change:

- floors: tooling (``localdev``, ``bench``) > ``functions`` > ``shared``; nothing imports a higher floor;
- layers inside ``shared``: ``logs`` < ``swr`` < ``rules``, ``state`` < ``sync``, ``runtime``; a package imports
  only itself and lower layers (not a sibling of its own layer);
- no import circle among first-party modules (lazy and ``TYPE_CHECKING`` imports count too);
- no module over :data:`MAX_LINES` lines outside ``tests``.

Every import statement counts, wherever it stands: a lazy import inside a function is still an arrow.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOPS = ("shared", "functions", "localdev", "bench")
FLOORS = {"shared": 1, "functions": 2, "localdev": 3, "bench": 3}
# shared/'s packages, bottom first; a package may import only its own modules and lower layers.
SHARED_LAYERS: tuple[tuple[str, ...], ...] = (
    ("boot", "lazyre", "record"),
    ("logs",),
    ("swr",),
    ("rules", "state"),
    ("sync", "runtime"),
)
MAX_LINES = 400


@dataclass(frozen=True)
class Graph:
    files: dict[str, Path]  # module name -> file
    edges: dict[str, set[str]]  # module -> first-party modules it imports


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every first-party module below ``root`` (packages by their ``__init__``)."""
    found: dict[str, Path] = {}
    for top in TOPS:
        for path in sorted((root / top).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            # not ours: byte-code caches, and virtual environments (bench/.sdk-venv holds the official SDK)
            if "__pycache__" in parts or any(part.startswith(".") for part in parts):
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def _imported(module: str, path: Path, tree: ast.AST) -> Iterable[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def build(root: Path = ROOT) -> Graph:
    files = modules(root)
    edges: dict[str, set[str]] = {m: set() for m in files}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for name in _imported(module, path, tree):
            target = _resolve(name, files)
            # a module's own packages are where it lives, not an arrow (``from shared.rules import model``)
            if target and target != module and not module.startswith(target + "."):
                edges[module].add(target)
    return Graph(files, edges)


def floor(module: str) -> int:
    return FLOORS[module.split(".")[0]]


def shared_layer(module: str) -> tuple[int, str]:
    """(layer, package) of a module of shared/; the package ``shared`` itself is the bottom."""
    parts = module.split(".")
    if len(parts) < 2:
        return 0, "shared"
    for level, packages in enumerate(SHARED_LAYERS):
        if parts[1] in packages:
            return level, parts[1]
    return len(SHARED_LAYERS), parts[1]  # a module outside every layer: above them all (and reported)


def unlayered(graph: Graph) -> list[str]:
    """Modules of shared/ in no layer (a new package must be given its place in SHARED_LAYERS)."""
    known = {p for layer in SHARED_LAYERS for p in layer}
    return sorted(m for m in graph.files if m.startswith("shared.") and m.split(".")[1] not in known)


def upward(graph: Graph) -> list[tuple[str, str]]:
    """Arrows to a higher floor, or inside shared/ to a higher layer or a sibling package of the same layer."""
    found = []
    for source, targets in sorted(graph.edges.items()):
        for target in sorted(targets):
            if floor(target) > floor(source):
                found.append((source, target))
            elif floor(source) == floor(target) == 1:
                (src_level, src_pkg), (dst_level, dst_pkg) = shared_layer(source), shared_layer(target)
                if dst_pkg != src_pkg and dst_level >= src_level and dst_pkg != "shared":
                    found.append((source, target))
    return found


def circles(graph: Graph) -> list[list[str]]:
    """Import circles: strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph.edges):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def long_modules(graph: Graph, limit: int = MAX_LINES) -> dict[str, int]:
    """Modules over ``limit`` lines, longest first."""
    counts = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in graph.files.items()}
    return dict(sorted(((m, n) for m, n in counts.items() if n > limit), key=lambda item: -item[1]))


def package_arrows(graph: Graph) -> dict[str, set[str]]:
    """The graph folded to packages (``shared.swr``, ``functions.push_sync``, ``localdev.emulator``...)."""

    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    folded: dict[str, set[str]] = {}
    for source, targets in graph.edges.items():
        arrows = folded.setdefault(package(source), set())
        arrows.update(package(t) for t in targets if package(t) != package(source))
    return folded


def report(graph: Graph) -> tuple[list[str], int]:
    """The printed report and the number of findings."""
    lines = ["floors (top first): localdev, bench > functions > shared", "shared/ layers (top first):"]
    lines += [
        f"  {level}: " + ", ".join(f"shared.{p}" for p in packages)
        for level, packages in reversed(list(enumerate(SHARED_LAYERS)))
    ]
    lines.append("packages and what they import:")
    for source, targets in sorted(package_arrows(graph).items(), key=lambda item: (-floor(item[0]), item[0])):
        lines.append(f"  {source} -> {', '.join(sorted(targets)) or '(nothing first-party)'}")
    found = circles(graph)
    arrows = upward(graph)
    strays = unlayered(graph)
    long = long_modules(graph)
    lines += [f"circle: {' <-> '.join(c)}" for c in found]
    lines += [f"upward: {s} -> {t}" for s, t in arrows]
    lines += [f"not in a layer of shared/: {m}" for m in strays]
    lines += [f"over {MAX_LINES} lines: {m} ({n})" for m, n in long.items()]
    findings = len(found) + len(arrows) + len(strays) + len(long)
    lines.append(
        f"{len(found)} circles, {len(arrows)} upward imports, {len(strays)} unlayered, "
        f"{len(long)} modules over {MAX_LINES} lines ({len(graph.files)} modules)"
    )
    return lines, findings


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    summary = "--summary" in args  # make lint: the findings and the count line only
    paths = [a for a in args if a != "--summary"]
    root = Path(paths[0]).resolve() if paths else ROOT
    lines, findings = report(build(root))
    print("\n".join(lines[-(findings + 1) :] if summary else lines))
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
