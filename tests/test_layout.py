"""The package's shape: imports go one way down the stages, and heavy parsers load lazily."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "service"
# Each stage may import the stages before it (and itself), never one after it.
STAGES = ("core", "ingest", "embedding", "index", "matching", "answering", "storage",
          "evaluation", "api", "cli")
PARSERS = ("pypdf", "docx", "selectolax")


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "service" and parts[1] in STAGES else None


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_every_stage_imports_only_itself_and_earlier_stages() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        stage = stage_of("service." + path.relative_to(PACKAGE).as_posix().replace("/", "."))
        if stage is None:
            continue
        for module in imported_modules(path):
            target = stage_of(module)
            if target and STAGES.index(target) > STAGES.index(stage):
                wrong.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert wrong == []


def test_every_subpackage_says_what_it_takes_in_and_gives_out() -> None:
    for stage in STAGES:
        doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text("utf-8")))
        assert doc and "Takes in" in doc and "Gives out" in doc, stage


def test_the_question_path_does_not_load_the_document_parsers() -> None:
    """What `policybot search` / `ask` and the API import never loads pypdf, docx, selectolax."""
    modules = "service.cli.commands, service.api.app, service.answering.serving"
    code = f"import sys, {modules}; print(','.join(m for m in {PARSERS!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == ""


def test_there_is_no_import_cycle_between_modules() -> None:
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {name: {m for m in imported_modules(path) if m in paths} - {name}
             for name, path in paths.items()}
    assert _cycles(graph) == []


def _module_name(path: Path) -> str:
    name = "service." + path.relative_to(PACKAGE).with_suffix("").as_posix().replace("/", ".")
    return name.removesuffix(".__init__")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Module-level cycles (imports inside functions count too: they still couple)."""
    found, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found
