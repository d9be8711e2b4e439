"""dvc.yaml tells the truth: every project file a stage's command runs is among its deps.

Each stage's Python import closure is read from the source (function-level imports included),
starting at the module its `cmd` runs; a file missing from the stage's deps would let
`dvc repro` keep results that the changed code no longer produces.
"""

import ast
import re
from pathlib import Path

import pytest
from dvc.repo import Repo

from tests.conftest import ROOT

PACKAGES = ("pipeline", "stages", "bench")


def module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    """Project modules that `path` imports, anywhere in it."""
    found = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return {m for m in found if m.split(".")[0] in PACKAGES and module_file(m)}


def closure(module: str) -> set[Path]:
    """Every project file that running `python -m module` executes (with its packages' __init__)."""
    todo, seen = [module], set()
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
            path = module_file(".".join(parts[:i]))
            if path and path not in seen:
                seen.add(path)
                todo.extend(imported_modules(path))
    # An empty __init__.py runs nothing that could change a result.
    return {p for p in seen if p.read_text().strip()}


def stages():
    repo = Repo(str(ROOT))
    try:
        return [
            (s.addressing, s.cmd, [Path(d.def_path) for d in s.deps], [Path(o.def_path) for o in s.outs])
            for s in repo.index.stages
        ]
    finally:
        repo.close()


STAGES = stages()
OUTS = {out for *_, outs in STAGES for out in outs}


def covered(path: Path, deps: list[Path]) -> bool:
    return any(path == d or d in path.parents for d in deps)


@pytest.mark.parametrize(("name", "cmd", "deps"), [s[:3] for s in STAGES], ids=[s[0] for s in STAGES])
def test_deps_list_every_project_file_the_stage_runs(name, cmd, deps):
    match = re.match(r"python -m ([\w.]+)", cmd)
    assert match, f"{name}: cmd {cmd!r} is not `python -m module`; teach this test to read it"
    runs = sorted(p.relative_to(ROOT) for p in closure(match.group(1)))
    missing = [str(p) for p in runs if not covered(p, deps)]
    assert not missing, f"{name} runs these files but dvc.yaml does not list them in its deps: {missing}"


@pytest.mark.parametrize(("name", "deps"), [(s[0], s[2]) for s in STAGES], ids=[s[0] for s in STAGES])
def test_every_listed_dep_exists_or_is_made_by_a_stage(name, deps):
    gone = [str(d) for d in deps if not (ROOT / d).exists() and not covered(d, list(OUTS))]
    assert not gone, f"{name}: dvc.yaml lists deps that neither exist nor are a stage's output: {gone}"


def test_the_closure_follows_function_level_and_from_imports():
    runs = {p.relative_to(ROOT).as_posix() for p in closure("pipeline.predict")}
    # predict imports training inside a function, and training.load imports the custom layers.
    assert {"pipeline/predict.py", "pipeline/training.py", "pipeline/models/layers.py", "pipeline/idx.py"} <= runs
    assert "pipeline/models/cnn.py" not in runs  # loading a model does not import its builder


def test_no_import_cycle_among_the_project_modules():
    graph = {
        path: {module_file(m) for m in imported_modules(path)} - {path}
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
    }
    done, active = set(), []

    def visit(node):
        if node in active:
            cycle = active[active.index(node) :] + [node]
            raise AssertionError("import cycle: " + " -> ".join(str(p.relative_to(ROOT)) for p in cycle))
        if node in done:
            return
        active.append(node)
        for nxt in graph.get(node, ()):
            visit(nxt)
        active.pop()
        done.add(node)

    for node in graph:
        visit(node)
