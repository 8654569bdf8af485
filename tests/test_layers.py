"""The architecture as a test: Dagster only in its zone, domain packages never climb back up.

Dagster may be imported only by ``definitions.py``, ``defs/`` and ``app/``; the domain
(intake, describe, storage, pipeline, notify, ...) imports none of those, and the domain
packages depend on each other without a cycle, so a walk from the sensor to the finished
record only goes down.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

PACKAGE = Path(str(find_spec("fileproc_dagster").origin)).parent
DAGSTER_ZONE = {"definitions", "defs", "app"}


def _unit(path: Path) -> str:
    """The top-level unit a module belongs to: a subpackage or a top-level module."""
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


def _imports(path: Path) -> Iterator[str]:
    """Every module a file imports, at the top or inside functions."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _domain_modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if _unit(p) not in DAGSTER_ZONE
            and _unit(p) != "__init__"]


def test_dagster_is_imported_only_in_its_zone() -> None:
    offenders = {}
    for path in _domain_modules():
        found = [m for m in _imports(path) if m.split(".")[0].startswith("dagster")]
        if found:
            offenders[str(path.relative_to(PACKAGE))] = sorted(set(found))
    assert offenders == {}


def test_the_domain_never_imports_the_dagster_zone() -> None:
    climbing = {}
    for path in _domain_modules():
        up = [m for m in _imports(path) if m.startswith("fileproc_dagster.")
              and m.split(".")[1] in DAGSTER_ZONE]
        if up:
            climbing[str(path.relative_to(PACKAGE))] = sorted(set(up))
    assert climbing == {}


def _unit_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in _domain_modules():
        unit = _unit(path)
        targets = {m.split(".")[1] for m in _imports(path)
                   if m.startswith("fileproc_dagster.") and len(m.split(".")) > 1}
        graph.setdefault(unit, set()).update(
            t for t in targets
            if t != unit and ((PACKAGE / t).is_dir() or (PACKAGE / f"{t}.py").is_file()))
    return graph


def test_domain_packages_depend_on_each_other_without_a_cycle() -> None:
    graph = _unit_graph()
    done: set[str] = set()

    def visit(unit: str, trail: tuple[str, ...]) -> None:
        assert unit not in trail, f"import cycle: {' -> '.join((*trail, unit))}"
        if unit in done:
            return
        for target in sorted(graph.get(unit, ())):
            visit(target, (*trail, unit))
        done.add(unit)

    for unit in sorted(graph):
        visit(unit, ())
    # The layers as they stand: storage and describe are leaves of the pipeline.
    assert "pipeline" not in graph.get("intake", set()) | graph.get("storage", set())
    assert {"intake", "describe", "storage", "notify"} <= graph["pipeline"]


# What only the extraction worker, one step or one backend needs; every process that loads
# the code location (code server, daemon, each run worker) would otherwise pay for it.
EXTRACTION_ONLY = ("pandas", "numpy", "PIL", "cv2", "pytesseract", "pypdfium2", "docx", "av",
                   "pptx", "python_calamine", "striprtf", "msoffcrypto", "olefile",
                   "faster_whisper", "ctranslate2", "onnxruntime", "torch", "py3langid",
                   "magic", "boto3", "botocore", "dagster_aws", "apprise")

# Only there with an optional extra (torch: openai-whisper); the others come with every install.
OPTIONAL = ("torch",)
# Loads the code location and prints every top-level module it imported or tried to import:
# a finder first in line sees each attempt, also of a module that is not installed (which a
# guarded import would then skip without a trace in sys.modules).
PROBE = """
import sys
tried = set()
class Seen:
    @staticmethod
    def find_spec(name, path=None, target=None):
        tried.add(name.split(".")[0])
sys.meta_path.insert(0, Seen)
import fileproc_dagster.definitions as d
d.defs()
print(" ".join(sorted(tried | {m.split(".")[0] for m in sys.modules})))
"""


def test_the_code_location_imports_no_extraction_library(settings: Any) -> None:
    required = [m for m in EXTRACTION_ONLY if m not in OPTIONAL]
    assert [m for m in required if find_spec(m) is None] == []  # installed, yet unused
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    imported = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                              text=True, check=True).stdout.split()
    assert "dagster" in imported and "sqlalchemy" in imported
    assert sorted(set(EXTRACTION_ONLY) & set(imported)) == []
