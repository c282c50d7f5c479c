"""The whole pipeline as a user runs it: `dvc repro` in a fresh copy of the project, then what
it left in DVC and in MLflow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, read_yaml, tiny_params, write_yaml

pytestmark = pytest.mark.slow


def source_files() -> list[str]:
    """Committed files, plus new source not yet committed (but never a run's outputs)."""
    def git_ls(*args: str) -> list[str]:
        out = subprocess.run(["git", "ls-files", *args], cwd=REPO, capture_output=True, text=True, check=True)
        return out.stdout.splitlines()

    new = [f for f in git_ls("--others", "--exclude-standard") if f.startswith(("src/", "pipeline/", "scripts/", ".dvc/plots/"))]
    return [f for f in git_ls("--cached") + new if (REPO / f).is_file()]


def project_copy(dest: Path) -> Path:
    """What a fresh clone holds: the project's source files, in a git repository of its own."""
    for name in source_files():
        if name.startswith("tests/"):
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True)
    return dest


def dvc(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # stages call `python`
    result = subprocess.run([str(Path(sys.executable).parent / "dvc"), *args], cwd=project, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def repro(tmp_path_factory):
    """One tiny `dvc repro` shared by the tests below (it is the slow part)."""
    import numpy as np

    from conftest import blob_images

    root = tmp_path_factory.mktemp("pipeline")
    project = project_copy(root / "project")
    y = np.repeat(np.array([0, 1, 2]), 30)
    np.savez(root / "own.npz", x=blob_images(y, 28), y=y)
    params = tiny_params(read_yaml(project / "params.yaml"), root / "own.npz", epochs=2)
    # Two of the project's variants: a plain and a conditional one (grids per class, two inputs).
    params["variants"] = {name: params["variants"][name] for name in ("dcgan", "acgan")}
    params["train"]["fid_every"] = 1
    params["seeds"] = [0, 1]  # two training seeds: the report's intervals and bands
    write_yaml(params, project / "params.yaml")
    result = dvc(project, "repro")
    return project, params, result


def test_repro_runs_every_stage_and_shows_progress(repro):
    project, params, result = repro
    for stage in ("check", "prepare", "judge", "train@dcgan-0", "train@dcgan-1", "train@acgan-0", "train@acgan-1",
                  "score@dcgan-0", "score@acgan-1", "references", "evaluate", "report"):
        assert f"Running stage '{stage}'" in result.stdout
    assert "dcgan-seed1 epoch   2/2" in result.stdout and "class_acc_fake" in result.stdout
    for variant in ("dcgan", "acgan"):
        for seed in (0, 1):
            assert (project / "models" / variant / f"seed{seed}" / "generator.keras").is_file()
            assert (project / "models" / variant / f"seed{seed}" / "generator_best.keras").is_file()
    assert (project / "dvc.lock").is_file()


def only_the_check_runs(output: str) -> bool:
    """The check stage always runs (it is how DVC sees a changed data source); nothing else may."""
    import re

    return re.findall(r"Running stage '([^']+)'", output) == ["check"]


def clean_status(project: Path) -> bool:
    """`dvc status` lists nothing but the always-run check stage."""
    return dvc(project, "status").stdout.split() == ["check:", "always", "changed"]


def test_second_repro_does_nothing_and_status_is_clean(repro):
    project, _, _ = repro
    assert only_the_check_runs(dvc(project, "repro").stdout)
    assert clean_status(project)


def test_dvc_sees_metrics_and_plots(repro):
    project, _, _ = repro
    metrics = json.loads(dvc(project, "metrics", "show", "--json").stdout)
    files = metrics[""]["data"]
    evaluation = files["reports/metrics.json"]["data"]
    for variant in ("dcgan", "acgan"):
        assert {"fid", "kid", "precision", "recall", "density", "coverage", "classifier_score"} \
            <= set(evaluation["variants"][variant])
        assert "g_loss" in files[f"training/{variant}/seed1/summary.json"]["data"]
        # Two seeds: every headline metric is a mean with a 95 % interval half-width.
        assert evaluation["variants"][variant]["seeds"] == 2
        assert evaluation["variants"][variant]["fid_ci95"] > 0
    assert "class_accuracy" in evaluation["variants"]["acgan"]
    by_seed = json.loads((project / "reports" / "metrics_by_seed.json").read_text())["runs"]
    fids = [by_seed["dcgan"][s]["fid"] for s in ("0", "1")]
    assert fids[0] != fids[1]  # the seeds really train differently
    assert evaluation["variants"]["dcgan"]["fid"] == pytest.approx(sum(fids) / 2)
    assert set(evaluation["references"]) == {"real_test", "noise"}
    # The floor is below the ceiling (trained variants sit between them on the default run).
    assert evaluation["references"]["real_test"]["fid"] < evaluation["references"]["noise"]["fid"]
    assert "| dcgan | " in (project / "reports" / "results.md").read_text()
    assert " ± " in (project / "reports" / "results.md").read_text()
    plots = json.loads(dvc(project, "plots", "show", "--json").stdout)["data"]
    for name in ("generator loss", "discriminator loss", "accuracy on real", "accuracy on fake", "fid per epoch"):
        assert plots[name][0]["type"] == "vega", name
        assert {"dcgan-seed0", "dcgan-seed1", "acgan-seed0"} <= {
            row["run"] for row in plots[name][0]["content"]["data"]["values"]}
    # The per-epoch grids are image plots, one per epoch.
    grids = [key for key in plots if key.startswith("training/dcgan/seed0/samples/")]
    assert sorted(grids) == ["training/dcgan/seed0/samples/epoch_001.png", "training/dcgan/seed0/samples/epoch_002.png"]


def test_mlflow_run_carries_params_tags_curves_grids_and_model(repro):
    import mlflow
    from mlflow.tracking import MlflowClient

    project, params, _ = repro
    uri = f"sqlite:///{project / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)  # some client calls resolve artifacts through the global store
    try:
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(params["mlflow"]["experiment"])
        runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id], "tags.variant != ''")}
        assert sorted(runs) == ["acgan-seed0", "acgan-seed1", "dcgan-seed0", "dcgan-seed1"]
        assert [m.step for m in client.get_metric_history(runs["acgan-seed0"].info.run_id, "class_acc_real")] == [1, 2]
        run = runs["dcgan-seed1"]
        assert run.info.status == "FINISHED"

        tags = run.data.tags
        assert tags["variant"] == "dcgan" and tags["seed"] == "1" and tags["dvc_stage"] == "train@dcgan-1"
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True)
        assert tags["git_commit"] == head.stdout.strip()
        assert len(tags["data_sha256"]) == 64

        logged = run.data.params
        assert logged["data.source"] == "npz" and logged["epochs"] == "2" and logged["batch_size"] == "16"
        assert logged["options.learning_rate"] == "0.0001"

        for key in ("g_loss", "d_loss", "d_acc_real", "d_acc_fake", "g_grad_norm", "d_saturation", "fid",
                    "recognisable", "class_entropy", "images_seen", "train_seconds"):
            assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [1, 2]

        images = [a.path for a in client.list_artifacts(run.info.run_id, "images")]
        assert sum(p.endswith(".png") and "samples" in p for p in images) == 2  # one grid per epoch
        assert run.data.metrics["eval_fid"] > 0 and "eval_precision" in run.data.metrics
        judge_runs = client.search_runs([experiment.experiment_id], "tags.role = 'judge'")
        assert len(judge_runs) == 1 and "test_accuracy" in judge_runs[0].data.metrics
        top = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"model_card.json", "history.csv"} <= top

        models = client.search_logged_models(experiment_ids=[experiment.experiment_id])
        assert sorted(m.source_run_id for m in models) == sorted(r.info.run_id for r in runs.values())
        assert {m.name for m in models} == {"generator"}
        logged_model = next(m for m in models if m.source_run_id == run.info.run_id)
        generator = mlflow.keras.load_model(f"models:/{logged_model.model_id}")
        assert generator.output_shape == (None, 32, 32, 1)
    finally:
        mlflow.set_tracking_uri(previous)
    # Artifacts live beside the store in the project, not in a temporary folder.
    assert (project / "mlartifacts").is_dir()


def page_media(page: Path) -> list[Path]:
    import re

    return [page.parent / m for m in re.findall(r'(?:src)="([^"]+)"', page.read_text())]


def test_report_page_shows_every_figure_kind_and_the_metrics_file(repro):
    import imageio.v3 as iio

    project, _, _ = repro
    page = project / "reports" / "index.html"
    media = page_media(page)
    names = {p.name for p in media}
    for figure in ("class_samples.png", "last_grids.png", "accuracy.png", "losses.png", "stabilisers.png",
                   "fid.png", "gradients.png", "coverage.png", "final_metrics.png", "progress_dcgan.gif",
                   "progress_acgan.gif"):
        assert figure in names, figure
    for path in media:
        assert path.is_file(), f"{path} is linked from the page but missing"
        if path.suffix in (".png", ".gif"):
            pixels = iio.imread(path)
            assert pixels.ndim >= 2 and pixels.std() > 5, f"{path} looks blank"
    assert len(iio.imread(project / "reports" / "figures" / "progress_dcgan.gif", index=None)) == 2  # epochs
    assert not [p for p in media if not p.resolve().is_relative_to(project)], "links outside the project"
    assert 'src="/' not in page.read_text() and 'src="http' not in page.read_text()  # relative links only

    # The table is the metrics file: every variant's mean and interval, and the references.
    evaluation = json.loads((project / "reports" / "metrics.json").read_text())
    text = page.read_text()
    for variant, values in evaluation["variants"].items():
        row = text.split(f'<tr data-variant="{variant}">', 1)[1].split("</tr>", 1)[0]
        assert f'<td data-metric="fid">{values["fid"]:.3f} &plusmn; {values["fid_ci95"]:.3f}</td>' in row
    assert '<tr data-variant="real_test (reference)">' in text
    # The claims this run can answer (no stabiliser or WGAN here: AC-GAN's and every variant's
    # coverage), each with a verdict on the page and in the Markdown the README gets.
    claims = (project / "reports" / "claims.md").read_text()
    for claim in ("AC-GAN (acgan) makes the class it is asked for.", "dcgan covers every class (no mode collapse)."):
        assert claim in claims and claim.replace("'", "&#x27;") in text
    assert "narrows the band" not in claims and "over 2 training seeds" in claims
    listed = [line for line in claims.splitlines() if line.startswith("- **")]
    assert len(listed) == 3 and text.count('<li data-verdict="') == 2 * len(listed)  # on top and by the figure


def test_report_page_renders_in_a_headless_browser(repro, tmp_path):
    import imageio.v3 as iio

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium here (make test installs Debian's chromium when it can)")
    project, _, _ = repro
    page = (project / "reports" / "index.html").as_uri()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
             "--virtual-time-budget=10000", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--dump-dom", page], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    images = len(page_media(project / "reports" / "index.html")) - dom.stdout.count("<video")
    assert f'data-images="{images}/{images}"' in dom.stdout, "an image did not load in the browser"
    shot = tmp_path / "page.png"
    subprocess.run([browser, *flags, "--window-size=1200,3000", f"--screenshot={shot}", page],
                   capture_output=True, timeout=120, check=True)
    assert iio.imread(shot).std() > 10  # not a blank page


def test_mlflow_comparison_run_carries_the_page(repro):
    from mlflow.tracking import MlflowClient

    project, params, _ = repro
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(params["mlflow"]["experiment"])
    comparisons = client.search_runs([experiment.experiment_id], "tags.role = 'comparison'")
    assert len(comparisons) == 1
    run = comparisons[0]
    trained = client.search_runs([experiment.experiment_id], "tags.variant != ''")
    assert set(run.data.tags["compares"].split(",")) == {r.info.run_id for r in trained}
    assert "report/index.html" in {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    figures = {a.path for a in client.list_artifacts(run.info.run_id, "report/figures")}
    assert {"report/figures/stabilisers.png", "report/figures/fid.png"} <= figures
    assert "fid.dcgan" in run.data.metrics
    own = next(r for r in trained if r.info.run_name == "dcgan-seed0")
    assert "figures/progress_dcgan.gif" in {a.path for a in client.list_artifacts(own.info.run_id, "figures")}


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=project, check=True,
                   capture_output=True)


def test_outputs_travel_through_a_dvc_remote(repro, tmp_path):
    """A team's flow: push to a remote (a local path here), clone the repository elsewhere and
    pull: the clone has every output and nothing needs to run again. (It commits the results:
    it runs after the tests that compare run tags with the project's HEAD.)"""
    project, _, _ = repro
    remote = tmp_path / "remote"
    dvc(project, "remote", "add", "-d", "shared", str(remote))  # in .dvc/config: travels with git
    pushed = dvc(project, "push")
    assert "pushed" in pushed.stdout.lower() and any(remote.rglob("*"))
    git(project, "add", "-A")
    git(project, "commit", "-qm", "results and remote")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True, capture_output=True)
    assert not (clone / "models" / "dcgan" / "seed0" / "generator.keras").exists()

    dvc(clone, "pull")
    for variant in ("dcgan", "acgan"):
        assert (clone / "models" / variant / "seed1" / "generator.keras").is_file()
        assert sorted(p.name for p in (clone / "training" / variant / "seed0" / "samples").iterdir()) == \
            ["epoch_001.png", "epoch_002.png"]
    assert (clone / "judge" / "judge.keras").is_file() and (clone / "reports" / "figures").is_dir()
    assert clean_status(clone)
    assert only_the_check_runs(dvc(clone, "repro", "--dry").stdout)


def test_dvc_experiment_runs_land_in_the_projects_store_tagged_with_the_experiment(repro):
    from mlflow.tracking import MlflowClient

    project, params, _ = repro
    # As a user would: the run's lock, metrics and plots committed, then an experiment on top.
    for args in (["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "results", "--allow-empty"]):
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)
    # --temp runs in a copy of the project: the runs must still reach the project's store.
    ran = dvc(project, "exp", "run", "--temp", "-n", "lr-probe", "-S", "variants.dcgan.learning_rate=0.0003")
    # Only the changed variant trains and is scored again; the references and acgan are kept.
    for stage in ("train@dcgan-0", "score@dcgan-0", "score@dcgan-1", "evaluate", "report"):
        assert f"Running stage '{stage}'" in ran.stdout, stage
    for stage in ("prepare", "judge", "train@acgan-0", "score@acgan-0", "references"):
        assert f"Running stage '{stage}'" not in ran.stdout, stage
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(params["mlflow"]["experiment"])
    runs = client.search_runs([experiment.experiment_id], "tags.dvc_exp_name = 'lr-probe' and tags.variant != ''")
    assert sorted(r.info.run_name for r in runs) == ["dcgan-seed0", "dcgan-seed1"]  # only what changed
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    for run in runs:
        assert run.data.tags["dvc_exp_baseline_rev"] == head
        assert run.data.params["options.learning_rate"] == "0.0003"
        assert len(run.data.tags["params_sha256"]) == 64
    baseline = client.search_runs([experiment.experiment_id], "tags.variant = 'dcgan' and tags.seed = '0'")
    assert len({r.data.tags["params_sha256"] for r in baseline}) == 2  # the experiment's params differ
    shown = json.loads(dvc(project, "exp", "show", "--json").stdout)
    assert "lr-probe" in json.dumps(shown)


def test_a_refused_experiment_leaves_the_workspace_as_it_was(repro):
    """The check stage refuses before DVC deletes any output; `make exp` puts params.yaml back."""
    project, _, _ = repro
    watched = ["data/source.json", "data/prepared/dataset.json", "reports/metrics.json",
               "training/dcgan/seed0/summary.json", "models/dcgan/seed0/generator.keras", "judge/judge.keras"]
    before = {name: (project / name).read_bytes() for name in watched}
    params = (project / "params.yaml").read_bytes()
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run(["bash", str(project / "scripts" / "exp.sh"), "train.batch_size=500",
                             "evaluate.pr_k=1000"], cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stdout + result.stderr
    assert "train.batch_size 500" in errors[0] and "evaluate.pr_k is 1000" in errors[0]
    assert "Running stage 'prepare'" not in result.stdout
    assert {name: (project / name).read_bytes() for name in watched} == before
    assert (project / "params.yaml").read_bytes() == params
    assert "params.yaml is back as it was" in result.stderr


def test_a_forced_judge_rerun_retrains_nothing(repro):
    """The judge's file is byte-identical for identical weights: the variants stay up to date."""
    project, _, _ = repro
    judge = (project / "judge" / "judge.keras").read_bytes()
    dvc(project, "repro", "-f", "-s", "judge")
    assert (project / "judge" / "judge.keras").read_bytes() == judge
    assert clean_status(project)


@pytest.fixture
def folder_project(tmp_path):
    """A project whose data is a folder of class folders (prepare only: no TensorFlow)."""
    from PIL import Image

    project = project_copy(tmp_path / "project")
    root = tmp_path / "own"
    for label, name in enumerate(("circles", "squares")):
        (root / name).mkdir(parents=True)
        for i in range(40):
            Image.new("L", (28, 28), 20 + 100 * label + i).save(root / name / f"{i}.png")
    params = tiny_params(read_yaml(project / "params.yaml"), root)
    params["data"].update(source="folder", path=str(root))
    params["variants"] = {"dcgan": params["variants"]["dcgan"]}
    write_yaml(params, project / "params.yaml")
    return project, root


def test_a_changed_image_folder_reruns_prepare(folder_project):
    project, root = folder_project
    assert "Running stage 'prepare'" in dvc(project, "repro", "prepare").stdout
    assert "Running stage 'prepare'" not in dvc(project, "repro", "prepare").stdout  # nothing changed
    for i in range(10):
        (root / "circles" / f"{i}.png").unlink()
    assert "Running stage 'prepare'" in dvc(project, "repro", "prepare").stdout
    facts = json.loads((project / "data" / "prepared" / "dataset.json").read_text())
    assert facts["train_images"] + facts["test_images"] == 70
    from PIL import Image

    Image.new("L", (28, 28), 255).save(root / "squares" / "0.png")  # the same name, another image
    assert "Running stage 'prepare'" in dvc(project, "repro", "prepare").stdout
