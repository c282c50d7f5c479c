"""The benchmark's parts that can be wrong without being slow: FLOP counts and the reference
loops (the timings themselves are what `make bench` measures, never asserted here)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from conftest import config_with_variants, tiny_params
from tools.bench.flops import forward_flops, machine_peak, measured_gemm_gflops, step_flops
from tools.bench.pipeline import last_repro_split
from tools.bench.reference import REFERENCE_LOOPS, reference_step
from tools.bench.timing import paired_ratios
from ganlab.cli import STAGE_TIMES
from ganlab.config import config_from_dict
from ganlab.gans.build import build_gan
from ganlab.family_settings import FAMILIES, DataSpec
from ganlab.models import dcgan_discriminator, dcgan_generator


def test_forward_flops_of_the_study_networks_by_hand():
    # G: Dense 100 -> 8*8*256; ConvT 5x5 256 -> 64 over 8x8 inputs; ConvT 5x5 64 -> 1 over 16x16.
    g = 2 * 100 * 16384 + 2 * 25 * 256 * 64 * 8 * 8 + 2 * 25 * 64 * 1 * 16 * 16
    # D: Conv 5x5 1 -> 64 to 16x16; Conv 5x5 64 -> 128 to 8x8; Dense 8192 -> 1.
    d = 2 * 25 * 1 * 64 * 16 * 16 + 2 * 25 * 64 * 128 * 8 * 8 + 2 * 8192
    assert forward_flops(dcgan_generator(100, 32)) == g
    assert forward_flops(dcgan_discriminator(32)) == d


def test_machine_peak_says_how_it_is_estimated():
    peak = machine_peak()
    assert peak["peak_gflops"] == pytest.approx(peak["cores"] * peak["ghz"] * peak["flops_per_cycle"], rel=1e-2)
    assert "nominal" in peak["how"]


def test_measured_peak_is_a_rate_of_the_product_it_times():
    rate = measured_gemm_gflops(size=256, repetitions=2)
    assert np.isfinite(rate) and 0.01 < rate < 100_000


def test_paired_ratios_cancel_a_slowdown_that_hits_both_loops():
    # The machine halves its speed after two repetitions; the project is 10 % faster throughout.
    reference_s = [1.0, 1.0, 2.0, 2.0, 2.0]
    project_s = [t / 1.1 for t in reference_s]
    assert paired_ratios(project_s, reference_s) == pytest.approx([1.1] * 5)
    assert paired_ratios([2.0], [1.0]) == [0.5]  # a project twice as slow


def test_repro_split_counts_train_steps_against_every_stage(params, tmp_path):
    params["variants"] = {"a": {"family": "dcgan"}, "b": {"family": "wgan"}}
    params["seeds"] = [0]
    cfg = config_from_dict(params, root=tmp_path)
    times = {"check": 0.5, "prepare": 1, "judge": 20, "train@a-0": 100, "train@b-0": 60, "score@a-0": 5,
             "score@b-0": 5, "references": 4, "results": 0.5, "report": 4}
    (tmp_path / STAGE_TIMES).parent.mkdir()
    # an older, slower timing of a stage is superseded by its last one
    lines = [{"stage": "train@a-0", "seconds": 500}] + [{"stage": k, "seconds": v} for k, v in times.items()]
    (tmp_path / STAGE_TIMES).write_text("".join(json.dumps(line) + "\n" for line in lines))
    for variant, seconds in (("a", 80), ("b", 50)):
        cfg.trained_run(variant, 0).summary_file.parent.mkdir(parents=True)
        cfg.trained_run(variant, 0).summary_file.write_text(json.dumps({"train_seconds": seconds}))
    split = last_repro_split(cfg)
    assert split["stages_total_s"] == 200 and split["train_steps_s"] == 130
    assert split["outside_train_steps_share"] == pytest.approx(0.35)
    assert split["outside_train_steps_s"] == {"check": 0.5, "prepare": 1, "judge": 20, "references": 4,
                                              "results": 0.5, "report": 4, "score@a-0": 5, "score@b-0": 5,
                                              "train@a-0": 20, "train@b-0": 10}
    assert split["missing_stages"] == []


def test_every_family_has_a_reference_loop_or_is_timed_without_one(monkeypatch):
    assert set(REFERENCE_LOOPS) == set(FAMILIES)
    monkeypatch.delitem(REFERENCE_LOOPS, "dcgan")
    gan = build_gan(config_with_variants({"v": {"family": "dcgan"}}).variant("v"), DataSpec(16, 1, 3), 8, 0)
    assert reference_step(gan, gan.options, 4) is None


def test_a_noop_repro_is_one_where_only_the_check_stage_runs():
    from tools.bench.pipeline import only_check_runs

    assert only_check_runs("Running stage 'check':\n> python pipeline/check.py\nStage 'prepare' didn't change")
    assert not only_check_runs("Running stage 'check':\nRunning stage 'train@dcgan-0':")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_reference_loop_trains_the_same_networks(family, params, npz_file):
    raw = tiny_params(params, npz_file)
    raw["variants"] = {"v": {"family": family, **({"n_critic": 2} if family.startswith("wgan") else {})}}
    cfg = config_from_dict(raw)
    options = cfg.variant("v")
    gan = build_gan(options, DataSpec(32, 1, 3), noise_dim=8, seed=0)
    batch = 4
    images = np.random.default_rng(0).uniform(-1, 1, (batch * gan.batches_per_step, 32, 32, 1)).astype("float32")
    element = (images, np.array([0, 1, 2, 0] * gan.batches_per_step)) if gan.conditional else images
    reference = reference_step(gan, options, batch)
    # Copies in Keras' own layers (no fused BatchNormalization), starting from the GAN's weights.
    for copy, network in ((reference.generator, gan.generator), (reference.discriminator, gan.discriminator)):
        assert not any(type(layer).__module__.startswith("ganlab") for layer in copy.layers)
        assert all(np.array_equal(a, b) for a, b in zip(copy.get_weights(), network.get_weights()))
    before = [w.numpy().copy() for w in (reference.generator.trainable_weights[0],
                                         reference.discriminator.trainable_weights[0])]
    reference.step(element)
    after = [w.numpy() for w in (reference.generator.trainable_weights[0], reference.discriminator.trainable_weights[0])]
    assert not np.array_equal(before[0], after[0]) and not np.array_equal(before[1], after[1])
    if family == "wgan":
        assert all(np.abs(w.numpy()).max() <= options.clip + 1e-7 for w in reference.discriminator.trainable_weights)
    assert step_flops(gan, options, batch) > 3 * batch * forward_flops(gan.generator)
    keras.backend.clear_session()


def test_the_bench_project_is_the_variant_alone_on_a_subset(params, npz_file, tmp_path):
    """The bench times the train stage itself in a small project of its own: one variant at
    BENCH_EPOCHS epochs, a subset of the prepared data, the same judge."""
    from ganlab.config import load_config
    from ganlab.data import load_prepared, prepare, save_prepared
    from tools.bench.timing import BENCH_EPOCHS, bench_project

    raw = tiny_params(params, npz_file)
    raw["variants"]["acgan"]["epochs"] = 9
    cfg = config_from_dict(raw, root=tmp_path / "project")
    save_prepared(prepare(cfg.data, cfg.seed), cfg.prepared_dataset, cfg.prepared_facts)
    cfg.judge_dir.mkdir(parents=True)
    (cfg.judge_dir / "judge.json").write_text("{}")
    bench = load_config(bench_project(cfg, "acgan", tmp_path / "bench"))
    assert list(bench.variants) == ["acgan"] and bench.run_settings("acgan", bench.seeds[0]).epochs == BENCH_EPOCHS
    assert bench.root == tmp_path / "bench" and (bench.judge_dir / "judge.json").is_file()
    assert len(load_prepared(bench.prepared_dataset).y_train) == len(load_prepared(cfg.prepared_dataset).y_train)


def test_the_stage_rate_is_the_median_after_the_first_epoch(params, tmp_path):
    from tools.bench.timing import stage_images_per_second

    cfg = config_from_dict(params, root=tmp_path)
    history = cfg.trained_run("dcgan", 0).history_file
    history.parent.mkdir(parents=True)
    history.write_text("epoch,g_loss,images_per_sec\n1,0.5,100\n2,0.5,500\n3,0.5,520\n4,0.5,480\n")
    assert stage_images_per_second(cfg, "dcgan") == 500
    assert stage_images_per_second(cfg, "wgan") is None
