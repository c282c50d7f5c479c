"""The judge and the evaluation's bookkeeping (the metrics themselves: test_metrics.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import tiny_params
from ganlab.config import config_from_dict
from ganlab.data import prepare, to_unit_range
from ganlab.readme_splice import RESULTS_END, RESULTS_START, splice_results
from ganlab.results import computed_as, results_table
from ganlab.metrics import frechet_distance


def test_judge_learns_the_classes_and_its_features_separate_real_from_noise(params, npz_file):
    from ganlab.judge import Judge, train_judge

    data = prepare(config_from_dict(tiny_params(params, npz_file)).data, seed=0)
    model, accuracy = train_judge(data, epochs=4, batch_size=16, seed=0)
    assert accuracy > 0.9  # the blob classes are easy
    judge = Judge(model)
    feats, probs = judge(to_unit_range(data.x_train))
    assert feats.shape == (len(data.y_train), 128)
    assert np.allclose(probs.sum(axis=1), 1.0)
    noise = np.random.default_rng(0).uniform(-1, 1, data.x_test.shape).astype("float32")
    test_feats, _ = judge(to_unit_range(data.x_test))
    noise_feats, _ = judge(noise)
    assert frechet_distance(feats, test_feats) < frechet_distance(feats, noise_feats)


def fake_results():
    def row(fid, **extra):
        return {"fid": fid, "kid": fid / 100, "precision": 0.5, "recall": 0.4, "density": 0.9,
                "coverage": 0.8, "classifier_score": 3.0, **extra}
    return {"samples": 100, "judge": {"test_accuracy": 0.95, "sha256": "x"},
            "variants": {"dcgan": row(40.0), "acgan": row(20.0, class_accuracy=0.9)},
            "references": {"real_test": row(1.0), "noise": row(400.0)}}


def test_results_table_sorts_by_fid_and_ends_with_the_references():
    lines = results_table(fake_results()).splitlines()
    body = [line.split("|")[1].strip() for line in lines[2:6]]
    assert body == ["acgan", "dcgan", "*real_test* (reference)", "*noise* (reference)"]
    assert "| 0.900 |" in lines[2] and lines[3].rstrip().endswith("| - |")  # class_accuracy: AC-GAN only
    assert "100 samples" in lines[-1]


def test_readme_section_is_replaced_and_nothing_else():
    readme = f"# Title\n\n{RESULTS_START}\nold table\n{RESULTS_END}\n\nmore text\n"
    new = splice_results(readme, "new table")
    assert new == f"# Title\n\n{RESULTS_START}\nnew table\n{RESULTS_END}\n\nmore text\n"
    assert splice_results(new, "new table") == new  # idempotent
    with pytest.raises(ValueError, match="no <!-- results:start -->"):
        splice_results("# no markers\n", "table")


def test_nearest_neighbours_finds_each_querys_closest_pool_point():
    from ganlab.scoring import nearest_neighbours

    pool = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 5.0]])
    queries = np.array([[9.0, 0.0], [0.0, 4.0], [0.0, 0.0]])
    distances, index = nearest_neighbours(queries, pool)
    assert index.tolist() == [1, 2, 0]
    assert distances == pytest.approx([1.0, 1.0, 0.0])  # a copy of a training image sits at 0


def test_the_results_say_which_variants_computed_in_which_precision(params, tmp_path):
    params["seeds"] = [0, 1]
    params["variants"] = {name: params["variants"][name] for name in ("dcgan", "acgan", "wgan")}
    cfg = config_from_dict(params, root=tmp_path)
    precision = {"dcgan": "mixed_bfloat16", "acgan": "float32", "wgan": "float32"}
    for variant in cfg.variants:
        for seed in cfg.seeds:
            cfg.trained_run(variant, seed).summary_file.parent.mkdir(parents=True)
            cfg.trained_run(variant, seed).summary_file.write_text(json.dumps({"precision": precision[variant], "cpu": "Xeon"}))
    assert computed_as(cfg) == ["float32 (acgan, wgan) on Xeon", "mixed_bfloat16 (dcgan) on Xeon"]
    for seed in cfg.seeds:  # one precision for all: no names
        cfg.trained_run("dcgan", seed).summary_file.write_text(json.dumps({"precision": "float32", "cpu": "Xeon"}))
    assert computed_as(cfg) == ["float32 on Xeon"]
