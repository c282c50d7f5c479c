"""The `ganlab` command on tiny trained generators: samples and walks from a variant's local
model, and one clear error line for every request it cannot serve (the registry and models:/
URIs on a whole pipeline run: test_pipeline.py)."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from conftest import read_yaml, tiny_params, write_yaml, REPO
from ganlab.commands import main, slerp


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project whose dcgan and acgan trained one epoch on three blob classes, labelled 2, 5, 9
    (class names that are not their indices)."""
    import os

    from conftest import blob_images
    from ganlab.config import load_config
    from ganlab.data import prepare, save_prepared
    from ganlab.training import train

    root = tmp_path_factory.mktemp("commands")
    y = np.repeat(np.array([2, 5, 9]), 30)
    np.savez(root / "own.npz", x=blob_images(y, 28), y=y)
    params = tiny_params(read_yaml(REPO / "params.yaml"), root / "own.npz", epochs=1)
    params["variants"] = {name: params["variants"][name] for name in ("dcgan", "acgan", "wgan")}
    write_yaml(params, root / "params.yaml")
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
    try:
        cfg = load_config(root / "params.yaml")
        save_prepared(prepare(cfg.data, cfg.seed), cfg.prepared_dataset, cfg.prepared_facts)
        for variant in ("dcgan", "acgan"):  # wgan stays untrained
            train(cfg, variant, 0)
    finally:
        if previous is not None:
            os.environ["MLFLOW_TRACKING_URI"] = previous
    return root


def run(project, capsys, *argv) -> tuple[int, str, str]:
    try:
        main(["--params", str(project / "params.yaml"), *argv])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_sample_writes_a_grid_and_the_arrays_and_is_seeded(project, tmp_path, capsys):
    code, out, _ = run(project, capsys, "sample", "dcgan", "-n", "6", "--seed", "3", "-o", str(tmp_path / "a.npz"))
    assert code == 0 and "wrote 6 samples of dcgan" in out
    first = np.load(tmp_path / "a.npz")
    assert first["images"].shape == (6, 32, 32, 1) and np.abs(first["images"]).max() <= 1.0
    run(project, capsys, "sample", "dcgan", "-n", "6", "--seed", "3", "-o", str(tmp_path / "b.npz"))
    run(project, capsys, "sample", "dcgan", "-n", "6", "--seed", "4", "-o", str(tmp_path / "c.npz"))
    assert np.array_equal(first["images"], np.load(tmp_path / "b.npz")["images"])  # the seed fixes the noise
    assert not np.array_equal(first["images"], np.load(tmp_path / "c.npz")["images"])

    run(project, capsys, "sample", "dcgan", "-n", "6", "-o", str(tmp_path / "grid.png"))
    grid = iio.imread(tmp_path / "grid.png")
    assert grid.shape == (2 * (2 * 34 + 2), 2 * (3 * 34 + 2))  # 6 images: 3 columns, 2 rows, 2x scale


def test_a_conditional_sample_makes_the_class_asked_for(project, tmp_path, capsys):
    code, _, _ = run(project, capsys, "sample", "acgan", "-n", "4", "--class", "5", "-o", str(tmp_path / "x.npz"))
    assert code == 0
    assert np.load(tmp_path / "x.npz")["labels"].tolist() == [1, 1, 1, 1]  # class names are "2", "5", "9"
    run(project, capsys, "sample", "acgan", "-n", "6", "-o", str(tmp_path / "all.npz"))
    assert np.load(tmp_path / "all.npz")["labels"].tolist() == [0, 1, 2, 0, 1, 2]  # every class in turn


def test_interpolate_walks_from_one_seed_to_the_other(project, tmp_path, capsys):
    code, out, _ = run(project, capsys, "interpolate", "dcgan", "--from", "1", "--to", "2", "--steps", "5",
                       "-o", str(tmp_path / "walk.npz"))
    assert code == 0 and "from noise seed 1 to 2" in out
    noise = np.load(tmp_path / "walk.npz")["noise"]
    ends = np.random.default_rng(1).standard_normal(100), np.random.default_rng(2).standard_normal(100)
    assert np.allclose(noise[0], ends[0], atol=1e-5) and np.allclose(noise[-1], ends[1], atol=1e-5)
    run(project, capsys, "interpolate", "acgan", "--class", "9", "-o", str(tmp_path / "walk.gif"))
    frames = iio.imread(tmp_path / "walk.gif", index=None)
    assert len(frames) == 2 * 8 - 2  # there and back, ends once


def test_slerp_stays_on_the_sphere_between_equal_norm_points():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    path = slerp(a, b, 5)
    assert np.allclose(np.linalg.norm(path, axis=1), 1.0)  # a straight line would dip to 0.71
    assert np.allclose(path[0], a) and np.allclose(path[-1], b) and np.allclose(path[2], [0.5 ** 0.5] * 2)


@pytest.mark.parametrize("argv, message", [
    (["sample", "gan9", "-o", "x.png"], "unknown variant 'gan9'"),
    (["sample", "wgan", "-o", "x.png"], "wgan (seed 0) has no trained generator"),
    (["sample", "dcgan", "--class", "5", "-o", "x.png"], "dcgan is not conditional"),
    (["sample", "acgan", "--class", "shoe", "-o", "x.png"], "--class 'shoe' is not one of this generator's classes"),
    (["sample", "dcgan", "--run-seed", "7", "-o", "x.png"], "seed 7"),
    (["sample", "dcgan", "-o", "x.jpg"], "-o x.jpg: write to a file ending in .png or .npz"),
    (["sample", "dcgan", "-n", "0", "-o", "x.png"], "-n 0: ask for at least one image"),
    (["interpolate", "dcgan", "--steps", "1", "-o", "x.gif"], "--steps 1"),
    (["sample", "models:/ganlab-nothing@best", "-o", "x.png"], "no model at models:/ganlab-nothing@best"),
])
def test_a_request_it_cannot_serve_is_one_error_line(project, tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
    code, out, err = run(project, capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not list(tmp_path.iterdir())  # nothing written


def test_ui_prints_the_address_of_the_runs_table(project, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
    code, out, _ = run(project, capsys, "ui", "--port", "5123", "--print-url")
    assert code == 0
    assert out.strip().startswith("http://127.0.0.1:5123/#/experiments/")
    assert "/runs?workflowType=machine_learning&viewStateShareKey=ganlab-runs" in out


def test_many_samples_are_made_in_batches_and_too_many_are_refused(project, tmp_path, capsys, monkeypatch):
    # issue 29: `ganlab sample -n 100000` grew to ~21 GB in one generator call, then a traceback
    import ganlab.commands as commands
    from ganlab.config import load_config

    generator = commands.load_generator(load_config(project / "params.yaml"), "acgan", None)
    calls = []
    model = generator.model
    generator.model = lambda inputs, training: calls.append(len(inputs[0])) or model(inputs, training=training)
    generator.model.output_shape = model.output_shape
    noise = commands.noise_for(0, 1234, generator.noise_dim)
    labels = commands.requested_labels(generator, None, 1234)
    images = generator(noise, labels)
    assert calls == [500, 500, 234] and images.shape == (1234, 32, 32, 1)
    assert np.allclose(images[:10], commands.Generator(model, generator.noise_dim, generator.class_names)(
        noise[:10], labels[:10]), atol=1e-5)  # the batches make the images one call would

    monkeypatch.setattr(commands, "available_memory", lambda: 400 * 2**20)  # 400 MiB free
    code, _, err = run(project, capsys, "sample", "dcgan", "-n", "100000", "-o", str(tmp_path / "many.npz"))
    assert code == 2 and err.startswith("error: -n 100000:") and err.count("\n") == 1, err
    assert "ask for at most 25600" in err and not (tmp_path / "many.npz").exists()
