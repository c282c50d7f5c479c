"""A params profile run as a project of its own, its results kept in the repository:

    python scripts/run_profile.py profiles/beyond.yaml      (make beyond)
    python scripts/run_profile.py profiles/claims/beta09.yaml   (make claims: results/claims/beta09/)
    python scripts/run_profile.py profiles/quick.yaml --no-results   (make quick: a preview, kept in its copy)

The project is copied as check-repro copies it (tracked and new files, no outputs) into
.ganlab/profiles/<name>/, the profile's values applied to its params.yaml, and `dvc repro` run
there (its own MLflow store: that folder's mlflow.db). Its results table, claims, metrics and two
figures (the FID over training at equal compute, the last grids) are then copied to
results/<name>/, where the README shows them from. Run again, it brings the copy up to the
project's code and params and DVC reruns what changed: a killed run resumes from the copy's
checkpoints (--fresh starts over).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_repro import (ROOT, clean_copy, dvc_env, lock_outputs, project_files,  # noqa: E402
                         write_profiled_params)

from ganlab.config import load_config  # noqa: E402

# What a profile's results are: small text files and three figures (no animations).
KEPT = ("evaluation", "evaluation_by_seed", "results_table", "claims")
FIGURES = ("fid.png", "last_grids.png", "claims.png")  # claims.png: the forest plot, where there are claims


def refresh(work: Path, profile: dict) -> None:
    """The copy brought up to the project's code and params (the profile applied again), its own
    outputs, lock and checkpoints kept: DVC then reruns what changed, and a killed run resumes."""
    committed = {path.relative_to(ROOT).as_posix() for path in lock_outputs(ROOT)}
    for name in project_files():
        if name == "dvc.lock" or name.startswith("results/") or any(
                name == out or name.startswith(out + "/") for out in committed):
            continue
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, work / name)
    write_profiled_params(ROOT / "params.yaml", work / "params.yaml", profile)


def profile_name(path: Path) -> str:
    """profiles/beyond.yaml -> "beyond", profiles/claims/beta09.yaml -> "claims/beta09": the
    folder of its copy under .ganlab/profiles/ and of its results under results/."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(ROOT / "profiles").with_suffix("").as_posix()
    except ValueError:
        return path.stem


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--fresh", action="store_true", help="start over instead of resuming the last copy")
    parser.add_argument("--no-results", action="store_true",
                        help="leave the results in the copy (make quick) instead of copying them to results/")
    args = parser.parse_args()
    if not args.profile.is_file():
        print(f"error: {args.profile} does not exist; name a profile under profiles/", file=sys.stderr)
        return 2
    name = profile_name(args.profile)
    work = ROOT / ".ganlab" / "profiles" / name
    profile = YAML(typ="safe", pure=True).load(args.profile.read_text())
    if args.fresh or not (work / "dvc.yaml").is_file():
        shutil.rmtree(work, ignore_errors=True)
        clean_copy(work, profile)
    else:
        refresh(work, profile)
    started = time.perf_counter()
    print(f"{name}: `dvc repro` in {work} (log: {work / 'repro.log'}) ...", flush=True)
    # The stages' progress lines as they come, and in the log.
    with open(work / "repro.log", "w") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "dvc"), "repro"], cwd=work, env=dvc_env(work),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            print(line, end="", flush=True)
            log.write(line)
    if proc.wait() != 0:
        print(f"error: `dvc repro` failed in {work} (exit {proc.returncode}); see {work / 'repro.log'}, fix, and "
              "run again to resume", file=sys.stderr)
        return 1
    cfg = load_config(work / "params.yaml")
    minutes = (time.perf_counter() - started) / 60
    if args.no_results:
        print(f"{name}: done in {minutes:.1f} min\nReport:        {cfg.report_page}\nMLflow store:  "
              f"{work / 'mlflow.db'} (its UI: {Path(sys.executable).parent / 'ganlab'} --params "
              f"{work / 'params.yaml'} ui)")
        return 0
    out = ROOT / "results" / name
    out.mkdir(parents=True, exist_ok=True)
    for key in KEPT:
        source = cfg.path(getattr(cfg.paths, key))
        shutil.copy2(source, out / source.name)
    for figure in FIGURES:
        if (cfg.figures_dir / figure).is_file():
            shutil.copy2(cfg.figures_dir / figure, out / figure)
    print(f"{name}: done in {minutes:.1f} min; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
