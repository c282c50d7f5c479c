"""The whole pipeline as a user runs it: `dvc repro` in a fresh copy of the project, then what
it left in DVC and in MLflow."""

from __future__ import annotations

import json
import os
import re
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


# Set by whoever ran the tests (and by ganlab.quiet in this process): the stages must quiet
# TensorFlow by themselves.
NOT_PASSED_ON = ("MLFLOW_TRACKING_URI", "DVC_ROOT", "TF_CPP_MIN_LOG_LEVEL", "ABSL_MIN_LOG_LEVEL", "GANLAB_VERBOSE")


def dvc_env() -> dict[str, str]:
    """The environment a user's shell gives `dvc`: none of NOT_PASSED_ON, and the venv's python."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_PASSED_ON}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # stages call `python`
    return env


def dvc(project: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(Path(sys.executable).parent / "dvc"), *args], cwd=project, env=dvc_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def chromium() -> str:
    """Debian's Chromium (make test installs it when it can); the test is skipped without it."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium here (make test installs Debian's chromium when it can)")
    return browser


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
                  "score@dcgan-0", "score@acgan-1", "references", "results", "report"):
        assert f"Running stage '{stage}'" in result.stdout
    assert "dcgan-seed1 epoch   2/2" in result.stdout and "class_acc_fake" in result.stdout
    for variant in ("dcgan", "acgan"):
        for seed in (0, 1):
            assert (project / "models" / variant / f"seed{seed}" / "generator.keras").is_file()
            assert (project / "models" / variant / f"seed{seed}" / "generator_best.keras").is_file()
    assert (project / "dvc.lock").is_file()


def test_repro_prints_none_of_tensorflows_log_lines(repro):
    # TensorFlow's C++ and absl lines look like `E0000 00:00:1764... meta_optimizer.cc:...`
    output = repro[2].stdout + repro[2].stderr
    chatter = [line for line in output.splitlines()
               if re.match(r"\s*[IWE]\d{4} ", line) or "oneDNN custom operations" in line
               or "remapper failed" in line or "absl::InitializeLog" in line
               or "rebuild TensorFlow with the appropriate compiler flags" in line
               # MLflow's chatter: its INFO lines, and registering a logged model by its run's path
               or " INFO mlflow" in line or "has no artifacts at artifact path" in line]
    assert not chatter, "\n".join(chatter[:5])


def test_every_score_carries_its_provenance_and_acgan_its_cas(repro):
    project, params, _ = repro
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=project, capture_output=True,
                          text=True).stdout.strip()
    for variant in ("dcgan", "acgan"):
        for seed in (0, 1):
            score = json.loads((project / "reports" / "scores" / variant / f"seed{seed}.json").read_text())
            card = score["provenance"]
            assert card["training_seed"] == seed and card["evaluation_seed"] == params["seed"]
            assert card["judge_sha256"] == score["judge_sha256"] and card["judge_feature_layer"].startswith("features")
            assert card["real_samples"] == card["generated_samples"] == score["samples"]
            assert (card["checkpoint"], card["epochs"]) == ("last epoch", 2)
            assert card["precision"] in ("float32", "mixed_bfloat16")
            assert card["generator"] == ("weight average (ema)" if variant == "dcgan" else "raw weights")
            assert card["code_commit"] == head  # the copy is a checkout of its own, its code unchanged
            assert ("cas" in score) == (variant == "acgan")
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert 0 <= metrics["variants"]["acgan"]["cas"] <= 1 and 0 <= metrics["references"]["real_test"]["cas"] <= 1
    # dcgan samples from its weight average, acgan from its raw weights: the table says so
    assert "generator" in metrics["provenance"]["differs"]
    assert "Scores computed with different generator" in (project / "reports" / "results.md").read_text()
    page = (project / "reports" / "index.html").read_text()
    assert 'id="provenance"' in page and "CAS (the judge's architecture trained on" in page


def only_the_check_runs(output: str) -> bool:
    """The check stage always runs (it is how DVC sees a changed data source); nothing else may."""

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
        # the UI's saved view groups the runs by a tag every training run has: a row per variant
        view = json.loads(experiment.tags["mlflow.sharedViewState.ganlab-runs"])
        assert [(k["mode"], k["groupByData"]) for k in view["groupBy"]["groupByKeys"]] == [("tag", "variant")]
        assert all(r.data.tags.get("variant") for r in runs.values())
        assert tags["provenance.checkpoint"] == "last epoch"  # the score's card, as tags
        assert tags["health"] == "healthy" and "tags.`health`" in view["selectedColumns"]  # ganlab.watch
        assert tags["host"] and tags["pid"].isdigit()  # what tells a run left RUNNING by a kill -9
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True)
        assert tags["git_commit"] == head.stdout.strip()
        assert len(tags["data_sha256"]) == 64

        logged = run.data.params
        assert logged["data.source"] == "npz" and logged["epochs"] == "2" and logged["batch_size"] == "16"
        assert logged["options.learning_rate"] == "0.0002"  # params.yaml's DCGAN

        for key in ("g_loss", "d_loss", "d_acc_real", "d_acc_fake", "g_grad_norm", "d_saturation", "fid",
                    "recognisable", "class_entropy", "images_seen", "train_seconds"):
            assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [1, 2]

        images = [a.path for a in client.list_artifacts(run.info.run_id, "images")]
        assert sum(p.endswith(".png") and "samples" in p for p in images) == 2  # one grid per epoch
        assert run.data.metrics["eval_fid"] > 0 and "eval_precision" in run.data.metrics
        # The judge and the comparison have an experiment of their own: this one holds training runs.
        assert len(client.search_runs([experiment.experiment_id])) == len(runs)
        reports = client.get_experiment_by_name(params["mlflow"]["experiment"] + "-reports")
        judge_runs = client.search_runs([reports.experiment_id], "tags.role = 'judge'")
        assert len(judge_runs) == 1 and "test_accuracy" in judge_runs[0].data.metrics
        # What the run saw: the prepared data set as its dataset input (the UI's Dataset column).
        (dataset_input,) = run.inputs.dataset_inputs
        facts = json.loads((project / "data" / "prepared" / "dataset.json").read_text())
        assert dataset_input.dataset.digest == facts["dataset_sha256"][:16]
        per_class = facts["classes"][0]["train"]
        assert dataset_input.dataset.name == f"npz: 3 classes x {per_class}"
        input_tags = {t.key: t.value for t in dataset_input.tags}
        assert input_tags["mlflow.data.context"] == "training"
        assert input_tags["class_counts"] == ", ".join(f"{c}: {per_class}" for c in ("0", "1", "2"))
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

    return [page.parent / m for m in re.findall(r'(?:src)="([^"]+)"', page.read_text())]


def test_report_page_shows_every_figure_kind_and_the_metrics_file(repro):
    import imageio.v3 as iio

    project, _, _ = repro
    page = project / "reports" / "index.html"
    media = page_media(page)
    names = {p.name for p in media}
    for figure in ("class_samples.png", "last_grids.png", "accuracy.png", "losses.png", "stabilisers.png",
                   "fid.png", "gradients.png", "coverage.png", "class_shares.png", "memorisation.png",
                   "final_metrics.png", "progress_dcgan.gif",
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
    # The memorisation check: each run's distances to the training set beside the test images'.
    by_seed = json.loads((project / "reports" / "metrics_by_seed.json").read_text())["runs"]
    assert len(by_seed["dcgan"]["1"]["nearest_train"]["quantiles"]) == 101
    assert (project / "reports" / "scores" / "acgan" / "seed1_nearest.png").is_file()
    assert "real test images " in text and "(no sign of copying)" in text
    # The claims this run can answer (no stabiliser or WGAN here: AC-GAN's and every variant's
    # coverage), each with a verdict on the page and in the Markdown the README gets.
    claims = (project / "reports" / "claims.md").read_text()
    for claim in ("AC-GAN (acgan) makes the class it is asked for.", "dcgan covers every class (no mode collapse)."):
        assert claim in claims and claim.replace("'", "&#x27;") in text
    assert "narrows the band" not in claims and "over 2 training seeds" in claims
    listed = [line for line in claims.splitlines() if line.startswith("- **")]
    assert len(listed) == 3 and text.count('<li data-verdict="') == 2 * len(listed)  # on top and by the figure


def test_dvc_plots_page_draws_its_curves_without_a_network(repro, tmp_path):
    """`dvc plots show` as a user runs it: the page carries vega itself (the project's template),
    and a browser cut off from every host draws each curve."""
    project, _, _ = repro
    dvc(project, "plots", "show", "-o", str(tmp_path / "plots"))
    page = tmp_path / "plots" / "index.html"
    text = page.read_text()
    assert "cdn.jsdelivr.net" not in text and "vegaEmbed" in text and "<script src=" not in text
    charts = text.count("vegaEmbed('#")
    assert charts >= 3  # the long curves table's three plots, and the per-run histories
    browser = chromium()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000",
             "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    drawn = dom.stdout.count('class="marks"')  # vega-embed's canvas, one per drawn chart
    assert drawn == charts, f"{drawn} of {charts} charts drawn"


def test_report_page_renders_in_a_headless_browser(repro, tmp_path):
    import imageio.v3 as iio

    browser = chromium()
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



def test_the_epoch_slider_moves_every_variants_grid(repro, tmp_path):
    """The side-by-side row in a real browser: opened at epoch 1 and at epoch 2 (#epoch=N sets the
    slider and runs its handler), every run's image shows that epoch's grid."""

    browser = chromium()
    project, params, _ = repro
    page = (project / "reports" / "index.html").as_uri()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
             "--virtual-time-budget=5000", f"--user-data-dir={tmp_path / 'profile'}"]
    shown = {}
    for epoch in (1, 2):
        dom = subprocess.run([browser, *flags, "--dump-dom", f"{page}#epoch={epoch}"], capture_output=True,
                             text=True, timeout=120)
        assert dom.returncode == 0, dom.stderr[-2000:]
        assert f'<output id="epoch-shown">{epoch}</output>' in dom.stdout
        shown[epoch] = dict(re.findall(r'<img src="figures/epochs/([^/"]+)/(epoch_\d+\.png)"', dom.stdout))
    runs = {f"{v}-seed{s}" for v in params["variants"] for s in params["seeds"]}
    assert set(shown[1]) == set(shown[2]) == runs
    assert all(shown[1][run] == "epoch_001.png" and shown[2][run] == "epoch_002.png" for run in runs)


def test_mlflow_comparison_run_carries_the_page(repro):
    from mlflow.tracking import MlflowClient

    project, params, _ = repro
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(params["mlflow"]["experiment"])
    reports = client.get_experiment_by_name(params["mlflow"]["experiment"] + "-reports")
    comparisons = client.search_runs([reports.experiment_id], "tags.role = 'comparison'")
    assert len(comparisons) == 1
    run = comparisons[0]
    trained = client.search_runs([experiment.experiment_id], "tags.variant != ''")
    assert set(run.data.tags["compares"].split(",")) == {r.info.run_id for r in trained}
    assert "report/index.html" in {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    figures = {a.path for a in client.list_artifacts(run.info.run_id, "report/figures")}
    assert {"report/figures/stabilisers.png", "report/figures/fid.png"} <= figures
    # Where the page links them (its relative links hold in MLflow's copy too).
    grids = {a.path for a in client.list_artifacts(run.info.run_id, "report/figures/epochs/dcgan-seed1")}
    assert grids == {f"report/figures/epochs/dcgan-seed1/epoch_00{e}.png" for e in (1, 2)}
    assert "report/curves.csv" in {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert "fid.dcgan" in run.data.metrics
    own = next(r for r in trained if r.info.run_name == "dcgan-seed0")
    assert "figures/progress_dcgan.gif" in {a.path for a in client.list_artifacts(own.info.run_id, "figures")}


def test_each_runs_generator_is_registered_and_best_is_the_lowest_fid(repro):
    from mlflow.tracking import MlflowClient

    project, params, _ = repro
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}", registry_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(params["mlflow"]["experiment"])
    for variant in params["variants"]:
        runs = {r.info.run_id: r for r in client.search_runs([experiment.experiment_id], f"tags.variant = '{variant}'")}
        versions = client.search_model_versions(f"name = 'ganlab-{variant}'")
        assert sorted(v.run_id for v in versions) == sorted(runs)  # one version a run, none twice
        for version in versions:
            run = runs[version.run_id]
            assert version.tags["params_sha256"] == run.data.tags["params_sha256"]
            assert float(version.tags["eval_fid"]) == pytest.approx(run.data.metrics["eval_fid"], rel=1e-5)
        best = client.get_model_version_by_alias(f"ganlab-{variant}", "best")
        assert best.run_id == min(runs.values(), key=lambda r: r.data.metrics["eval_fid"]).info.run_id


def test_ganlab_sample_from_a_registered_model(repro, tmp_path):
    """The console script, as a user runs it in the project: the best AC-GAN's samples of one
    class, from the registry."""
    import numpy as np

    project, _, _ = repro
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    ganlab = Path(sys.executable).with_name("ganlab")
    command = [str(ganlab)] if ganlab.exists() else [sys.executable, "-m", "ganlab.commands"]
    result = subprocess.run([*command, "sample", "models:/ganlab-acgan@best", "-n", "4", "--class", "1",
                             "-o", str(tmp_path / "best.npz")], cwd=project, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    samples = np.load(tmp_path / "best.npz")
    assert samples["images"].shape == (4, 32, 32, 1) and samples["labels"].tolist() == [1, 1, 1, 1]
    url = subprocess.run([*command, "ui", "--print-url"], cwd=project, env=env, capture_output=True, text=True,
                         timeout=300)
    assert url.returncode == 0 and "/runs?workflowType=machine_learning" in url.stdout


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_ui_link_lands_on_the_training_runs_table(repro, tmp_path):
    """`ganlab ui`'s address in a browser with no saved settings: MLflow's runs table with the
    Model training navigation, training runs only, sorted by FID, the scores as columns."""
    import time
    import urllib.request

    browser = chromium()
    project, params, _ = repro
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    port = free_port()
    url = subprocess.run([sys.executable, "-m", "ganlab.commands", "ui", "--port", str(port), "--print-url"],
                         cwd=project, env=env, capture_output=True, text=True, timeout=300).stdout.strip()
    server = subprocess.Popen([str(Path(sys.executable).with_name("mlflow")), "ui", "--backend-store-uri",
                               f"sqlite:///{project / 'mlflow.db'}", "--host", "127.0.0.1", "--port", str(port)],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)
                break
            except OSError:
                assert time.time() < deadline, "the MLflow UI did not start"
                time.sleep(2)
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=30000",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1600,900"]
        dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=180)
        assert dom.returncode == 0, dom.stderr[-2000:]
        page = dom.stdout
        assert "Model training" in page and ">Runs<" in page  # the runs table, not the GenAI overview
        assert "eval_fid" in page and "eval_kid" in page  # the scores as the first columns, no clicking
        names = [n for n in ("dcgan-seed0", "dcgan-seed1", "acgan-seed0", "acgan-seed1") if n in page]
        assert len(names) == 4 and "comparison" not in page and ">judge<" not in page
        shot = tmp_path / "ui.png"
        subprocess.run([browser, *flags, f"--screenshot={shot}", url], capture_output=True, timeout=180, check=True)
        import imageio.v3 as iio

        assert iio.imread(shot).std() > 10
    finally:
        server.terminate()
        server.wait(timeout=30)


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
    for stage in ("train@dcgan-0", "score@dcgan-0", "score@dcgan-1", "results", "report"):
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
