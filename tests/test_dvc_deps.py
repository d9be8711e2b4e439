"""dvc.yaml tells the truth: every project file a stage's command runs is among its deps, and
no project source file it does not run.

Each stage's Python import closure is read from the source (function-level imports included),
starting at the module its `cmd` runs; a file missing from the stage's deps would let
`dvc repro` keep results that the changed code no longer produces.
"""

import ast
import re
from pathlib import Path

import pytest
from dvc.repo import Repo

from pipeline import outputs
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


def models_imported_by_name(path: Path, argv: list[str]) -> set[str]:
    """`importlib.import_module(f"pipeline.models.{...}")` in `path` imports the model that its
    command line names (stages/train_tweets.py: `python -m stages.train_tweets rnn`)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and isinstance(node.args[0], ast.JoinedStr)
            and getattr(node.args[0].values[0], "value", None) == "pipeline.models."
        ):
            assert argv, f"{path} imports a model by name: its command must name one"
            return {f"pipeline.models.{argv[0]}"}
    return set()


def schemas_loaded(path: Path, argv: list[str]) -> set[str]:
    """`params.load(SECTION)` in `path` imports pipeline/schema/SECTION.py and base.py by name
    (pipeline.params.validate_section); an f-string section is completed by the command's
    argument (pipeline/text_training.py: `params.load(f"train_{name}")`, name from argv)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "load"
            and getattr(node.func.value, "id", None) == "params"
        ):
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant):
            section = arg.value
        else:
            assert isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant) and argv, (
                f"{path}: params.load of a section this test cannot name; teach schemas_loaded to read it"
            )
            section = arg.values[0].value + argv[0]
        found |= {"pipeline.schema.base", f"pipeline.schema.{section}"}
    return found


def runs_nothing(path: Path) -> bool:
    """An empty module or one with a docstring alone runs nothing that could change a result."""
    body = ast.parse(path.read_text()).body
    return not body or (len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant))


def closure(module: str, argv: list[str] = ()) -> set[Path]:
    """Every project file that running `python -m module argv...` executes (with its packages'
    __init__)."""
    start = module_file(module)
    todo, seen = [module, *(models_imported_by_name(start, list(argv)) if start else ())], set()
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
            path = module_file(".".join(parts[:i]))
            if path and path not in seen:
                seen.add(path)
                todo.extend(imported_modules(path) | schemas_loaded(path, list(argv)))
    return {p for p in seen if not runs_nothing(p)}


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


def command_closure(name: str, cmd: str) -> set[Path]:
    # An environment assignment may come first (PYTHONHASHSEED=0 for the export's ONNX bytes).
    match = re.match(r"(?:[A-Z_]+=\S+ )*python -m ([\w.]+)((?: [\w.]+)*)$", cmd)
    assert match, f"{name}: cmd {cmd!r} is not `[VAR=value ...] python -m module [args]`; teach this test to read it"
    return closure(match.group(1), match.group(2).split())


OUTS = {out for *_, outs in STAGES for out in outs}


def covered(path: Path, deps: list[Path]) -> bool:
    return any(path == d or d in path.parents for d in deps)


@pytest.mark.parametrize(("name", "cmd", "deps"), [s[:3] for s in STAGES], ids=[s[0] for s in STAGES])
def test_deps_list_every_project_file_the_stage_runs(name, cmd, deps):
    runs = sorted(p.relative_to(ROOT) for p in command_closure(name, cmd))
    missing = [str(p) for p in runs if not covered(p, deps)]
    assert not missing, f"{name} runs these files but dvc.yaml does not list them in its deps: {missing}"


@pytest.mark.parametrize(("name", "cmd", "deps"), [s[:3] for s in STAGES], ids=[s[0] for s in STAGES])
def test_deps_list_no_project_source_the_stage_does_not_run(name, cmd, deps):
    runs = command_closure(name, cmd)
    extra = [str(d) for d in deps if d.suffix == ".py" and d.parts[0] in PACKAGES and ROOT / d not in runs]
    assert not extra, f"{name}: dvc.yaml lists deps that the stage never runs (an edit reruns it for nothing): {extra}"


@pytest.mark.parametrize(("name", "deps"), [(s[0], s[2]) for s in STAGES], ids=[s[0] for s in STAGES])
def test_every_listed_dep_exists_or_is_made_by_a_stage(name, deps):
    gone = [str(d) for d in deps if not (ROOT / d).exists() and not covered(d, list(OUTS))]
    assert not gone, f"{name}: dvc.yaml lists deps that neither exist nor are a stage's output: {gone}"


def test_params_are_loaded_as_params_load_which_the_closure_reads():
    # schemas_loaded finds a stage's params sections by its `params.load(...)` calls: a module that
    # imported `load` or `pipeline.params` under another name would hide them.
    for package in ("pipeline", "stages"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = getattr(node, "names", [])
                if isinstance(node, ast.ImportFrom) and node.module == "pipeline.params":
                    raise AssertionError(f"{path}: import `from pipeline import params` and call params.load")
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    bad = [a for a in names if a.name in ("params", "pipeline.params") and a.asname]
                    assert not bad, f"{path}: pipeline.params imported as {bad[0].asname}; keep the name params"


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


# ----------------------------------------------------------------------------- edit -> rerun

IMAGE_STAGES = {"preprocess_fashion", "train_ae", "train_cnn", "train_transfer"} | {
    f"{group}@{m}" for group in ("evaluate_images", "export") for m in ("ae", "cnn", "transfer")
}
TWEET_STAGES = {"preprocess_tweets", "train_tweets@rnn", "train_tweets@charcnn", "train_ensemble", "baseline_text"} | {
    f"{group}@{m}" for group in ("evaluate_tweets", "export") for m in ("rnn", "charcnn", "ensemble")
}
PROJECT_FILES = sorted(
    p.relative_to(ROOT)
    for package in ("pipeline", "stages")
    for p in (ROOT / package).rglob("*.py")
    if not runs_nothing(p)
)


def reruns(path: Path) -> set[str]:
    """The stages `dvc repro` reruns after an edit to `path`: those that list it, then every stage
    downstream of their outputs (as if each output changed: the edit may change what it holds)."""
    hit = {name for name, _, deps, _ in STAGES if covered(path, deps)}
    while True:
        outs = [out for name, _, _, outputs in STAGES if name in hit for out in outputs]
        more = {name for name, _, deps, _ in STAGES if any(covered(out, deps) for out in outs)}
        if more <= hit:
            return hit
        hit |= more


RERUNS = {str(path): reruns(path) for path in PROJECT_FILES}


def test_the_rerun_table_covers_every_stage_and_every_file():
    assert {name for name, *_ in STAGES} >= IMAGE_STAGES | TWEET_STAGES
    # Every file some stage runs reruns at least that stage; those no stage runs, nothing.
    run_somewhere = {p for name, cmd, _, _ in STAGES for p in command_closure(name, cmd)}
    for path in PROJECT_FILES:
        assert bool(RERUNS[str(path)]) == ((ROOT / path) in run_somewhere), path


@pytest.mark.parametrize(
    "path",
    ["pipeline/fashion.py", "pipeline/idx.py", "stages/preprocess_fashion.py", "pipeline/image_evaluation.py",
     "stages/evaluate_images.py", "pipeline/models/autoencoder.py", "pipeline/models/cnn.py",
     "pipeline/models/transfer.py", "stages/train_ae.py", "stages/train_cnn.py", "stages/train_transfer.py"],
)  # fmt: skip
def test_an_image_only_file_reruns_no_tweet_stage(path):
    assert not RERUNS[path] & TWEET_STAGES, sorted(RERUNS[path] & TWEET_STAGES)


@pytest.mark.parametrize(
    "path",
    ["pipeline/tweets.py", "stages/preprocess_tweets.py", "pipeline/tweet_evaluation.py",
     "stages/evaluate_tweets.py", "pipeline/models/text.py", "pipeline/text_training.py", "stages/train_tweets.py",
     "pipeline/models/rnn.py", "pipeline/models/charcnn.py", "pipeline/models/ensemble.py",
     "stages/train_ensemble.py", "stages/baseline_text.py"],
)  # fmt: skip
def test_a_tweet_only_file_reruns_no_image_stage(path):
    assert not RERUNS[path] & IMAGE_STAGES, sorted(RERUNS[path] & IMAGE_STAGES)


@pytest.mark.parametrize(
    ("builder", "model", "member_of"),
    [("autoencoder", "ae", None), ("cnn", "cnn", None), ("transfer", "transfer", None),
     ("rnn", "rnn", "ensemble"), ("charcnn", "charcnn", "ensemble")],
)  # fmt: skip
def test_a_builder_reruns_its_model_its_evaluation_its_ensemble_and_the_summary(builder, model, member_of):
    kind = "tweets" if builder in ("rnn", "charcnn") else "images"
    expected = {outputs.trained_by(model), f"evaluate_{kind}@{model}", f"export@{model}", "summarize"}
    if member_of:
        expected |= {f"train_{member_of}", f"evaluate_tweets@{member_of}", f"export@{member_of}"}
    assert RERUNS[f"pipeline/models/{builder}.py"] == expected
    # Its params section's schema reaches as far, and no further.
    assert RERUNS[f"pipeline/schema/train_{model}.py"] == expected


def test_the_modules_shared_by_all_stages_rerun_only_what_runs_them():
    # The error policy and the params reach every stage; the hardware path and TensorFlow's quiet
    # start only those that run TensorFlow.
    without_tensorflow = {"download", "preprocess_fashion", "preprocess_tweets", "baseline_text", "summarize"}
    for path in ("pipeline/hardware.py", "pipeline/quiet_start.py", "stages/with_tensorflow.py"):
        direct = {name for name, _, deps, _ in STAGES if covered(Path(path), deps)}
        assert not direct & without_tensorflow, (path, sorted(direct & without_tensorflow))


def test_each_model_is_made_by_the_stage_its_messages_name():
    for name, _, _, outs in STAGES:
        for out in outs:
            if out.parent == outputs.MODELS and out.suffix == ".keras":
                assert outputs.trained_by(out.stem) == name, (out, name)


def total_reruns() -> int:
    """Stage reruns summed over every project file: one figure for how far edits reach (docs/)."""
    return sum(len(stages) for stages in RERUNS.values())


if __name__ == "__main__":
    for path, hit in sorted(RERUNS.items()):
        print(f"{len(hit):3d}  {path}")
    print(f"{total_reruns()} stage reruns over {len(RERUNS)} files")
