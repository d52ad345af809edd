"""What a build produced and how big: its artifacts, the build result (``sizes.json``), and the size table that
compares them with the official SDK's deploy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localdev.packager import archive
from localdev.packager.wheels import Pin, Target

SDK_BASELINE_ZIPPED = 4_189_108  # docs/reference: huaweicloudsdkswr 3.1.219 + its dependencies, zip -9


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


def zip_artifact(tree: Path, zip_path: Path, out: Path, kind: str, function: str | None) -> Artifact:
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
