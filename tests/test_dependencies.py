"""dvc.yaml's deps are what each stage really reads: every module of src/ganlab that its script
imports, directly or through other modules (imports inside functions included), so that editing
any of them reruns the stage. A module may be left out only if it cannot change an output; each
such module is listed below with the reason."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "src"
# Modules whose code cannot change what a stage writes, so a change to them need not rerun it.
NOT_A_DEPENDENCY = {
    "src/ganlab/__init__.py": "the package's docstring and version string; no code a stage runs",
    "src/ganlab/cli.py": "the stage shell: loads params, turns refusals into one error line, records timings",
    "src/ganlab/quiet.py": "drops TensorFlow's log lines from what a stage prints; writes nothing",
    "src/ganlab/preflight.py": "refuses to start (unwritable outputs, unreachable MLflow store); writes nothing",
    "src/ganlab/tracking.py": "MLflow logging: records runs in the store, never an output DVC tracks",
    "src/ganlab/registry.py": "MLflow's model registry: versions and the `best` alias, never an output DVC tracks",
    "src/ganlab/run_tags.py": "the tags MLflow runs carry (digests, commit, process); never an output DVC tracks",
    "src/ganlab/mlflow_ui.py": "tags that set how the MLflow UI opens the experiment; writes no file",
}


def module_file(name: str, src: Path = PACKAGE) -> Path | None:
    """The file of a module of the ganlab package under src (a package's __init__.py), or None."""
    if name != "ganlab" and not name.startswith("ganlab."):
        return None
    base = src.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def package_modules(path: Path, src: Path) -> set[str]:
    """Every module in the package (folder) of a file, as dotted names."""
    package = ".".join(path.parent.relative_to(src).parts)
    return {f"{package}.{p.stem}" for p in path.parent.glob("*.py") if p.name != "__init__.py"}


def imported_modules(path: Path, src: Path = PACKAGE) -> set[str]:
    """Modules a file imports, anywhere in it; `from ganlab import x` counts x as a module. A file
    that imports by name (importlib.import_module: the GAN families' registry) may load any module
    of its package."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            names |= package_modules(path, src)
    # Importing ganlab.x.y runs ganlab/__init__.py and ganlab/x/__init__.py first.
    return names | {".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 1)}


def import_closure(script: Path, project: Path = REPO) -> set[str]:
    """Files (relative to the project) of every ganlab module the script loads."""
    src = project / "src"
    seen: set[Path] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        for name in imported_modules(path, src):
            found = module_file(name, src)
            if found is not None and found not in seen:
                seen.add(found)
                todo.append(found)
    return {str(p.relative_to(project)) for p in seen}


def stage_commands_and_deps(project: Path) -> dict[str, tuple[str, list[str]]]:
    """Every stage (matrix stages expanded) with its command and deps, as DVC resolves dvc.yaml."""
    code = ("import json, sys\nfrom dvc.repo import Repo\nrepo = Repo(sys.argv[1])\n"
            "print(json.dumps({s.addressing: [s.cmd, [str(d.def_path) for d in s.deps]] for s in repo.index.stages}))")
    out = subprocess.run([sys.executable, "-c", code, str(project)], capture_output=True, text=True, check=True,
                         cwd=project)
    import json

    return {name: (cmd, deps) for name, (cmd, deps) in json.loads(out.stdout).items()}


def missing_dependencies(project: Path) -> dict[str, list[str]]:
    """Per stage, the modules its script imports that its deps do not cover."""
    missing = {}
    for stage, (cmd, deps) in stage_commands_and_deps(project).items():
        script = next(word for word in cmd.split() if word.endswith(".py"))
        covered = {d.rstrip("/") for d in deps}
        needed = {script} | import_closure(project / script, project)
        absent = sorted(
            f for f in needed - set(NOT_A_DEPENDENCY)
            if not any(f == d or f.startswith(d + "/") for d in covered)
        )
        if absent:
            missing[stage] = absent
    return missing


def test_every_stage_depends_on_the_code_it_imports():
    assert missing_dependencies(REPO) == {}


def test_a_dependency_removed_from_dvc_yaml_is_caught(tmp_path):
    """The check above can fail: drop data.py from the judge stage (the bug of issue #15)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy2(REPO / name, project / name)
    for folder in ("src", "pipeline"):
        shutil.copytree(REPO / folder, project / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(REPO / ".dvc", project / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp"))
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    text = (project / "dvc.yaml").read_text()
    judge = text.index("  judge:")
    before, after = text[:judge], text[judge:]
    assert "      - src/ganlab/data.py\n" in after.split("\n  train:")[0]
    (project / "dvc.yaml").write_text(before + after.replace("      - src/ganlab/data.py\n", "", 1))
    assert missing_dependencies(project) == {"judge": ["src/ganlab/data.py"]}


def test_the_closure_follows_imports_inside_functions():
    closure = import_closure(REPO / "pipeline" / "train.py")
    # train.py imports ganlab.training inside main(); training imports the judge and the models.
    assert {"src/ganlab/training.py", "src/ganlab/judge.py", "src/ganlab/models.py",
            "src/ganlab/data.py", "src/ganlab/gans/dcgan.py"} <= closure


@pytest.mark.parametrize("module", sorted(NOT_A_DEPENDENCY))
def test_every_exemption_names_a_real_module(module):
    assert (REPO / module).is_file()
