"""requirements.txt names every package the project's code imports: a package that arrives only
as another's dependency (pinned in constraints.txt alone) can vanish when that other package
changes its own requirements."""

import ast
import importlib.metadata
import re
import sys

from tests.conftest import ROOT

LOCAL = {"pipeline", "stages", "bench", "tests"}
SOURCES = ("pipeline", "stages", "bench", "tests")


def requirement_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def top_level_imports(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_requirement_names_reads_pins_and_comments():
    assert requirement_names("# x\nscikit-learn==1.9.1\nPyYAML>=6  # y\n\ntf_keras[x]==2\n") == {
        "scikit-learn",
        "pyyaml",
        "tf-keras",
    }


def test_every_imported_package_is_a_direct_requirement():
    direct = requirement_names((ROOT / "requirements.txt").read_text())
    providers = importlib.metadata.packages_distributions()
    local = LOCAL | {p.stem for d in SOURCES for p in (ROOT / d).glob("*.py")}
    missing = {}
    for directory in SOURCES:
        for path in sorted((ROOT / directory).rglob("*.py")):
            for module in top_level_imports(path.read_text()):
                if module in sys.stdlib_module_names or module in local or module == "__future__":
                    continue
                dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
                assert dists, f"{path.relative_to(ROOT)} imports {module}, which no installed package provides"
                if not dists & direct:
                    missing.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    assert not missing, (
        "imported but not in requirements.txt (add the package, pinned as in constraints.txt): "
        + "; ".join(f"{m} by {', '.join(sorted(files))}" for m, files in sorted(missing.items()))
    )
