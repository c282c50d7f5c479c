"""Time to quality (tools/bench/quality.py) on made-up histories: which epoch counts, what a run
that never gets there reports, and how the ratio reads."""

from __future__ import annotations

import math

import pytest

from tools.bench.quality import family_target, ratio, time_to_quality


def history(fids, seconds_per_epoch=10.0):
    return [{"epoch": str(e), "fid": "" if f is None else str(f), "train_seconds": str(e * seconds_per_epoch)}
            for e, f in enumerate(fids, start=1)]


def test_time_is_the_training_until_the_first_epoch_at_or_under_the_target():
    # epoch 3 reaches 40 exactly; epoch 5 goes under again later and must not count
    rows = history([150, 60, 40, 45, 30])
    assert time_to_quality(rows, 40.0) == (30.0, True)
    # a target only the last epoch meets: its cumulative seconds, not the epoch count
    assert time_to_quality(rows, 35.0) == (50.0, True)


def test_epochs_without_a_score_are_skipped_not_read_as_zero():
    rows = history([None, 80, None, 39], seconds_per_epoch=7.5)
    rows[2]["fid"] = "nan"
    assert time_to_quality(rows, 40.0) == (30.0, True)


def test_a_run_that_never_reaches_the_target_reports_its_whole_training():
    assert time_to_quality(history([300, 250, 260]), 118.0) == (30.0, False)
    assert time_to_quality([], 40.0) == (0.0, False)


def test_the_ratio_is_exact_a_lower_bound_or_unknown():
    value, reading = ratio((120.0, True), (40.0, True))
    assert math.isclose(value, 3.0) and reading == ""
    value, reading = ratio((300.0, False), (60.0, True))  # the slow side never got there in 300 s
    assert math.isclose(value, 5.0) and reading == ">="
    assert ratio((120.0, True), (200.0, False))[0] is None


@pytest.mark.parametrize(("family", "target"), [("dcgan", 40.0), ("acgan", 40.0), ("wgan", 118.0),
                                                ("wgan_gp", 118.0)])
def test_each_family_has_its_bar(family, target):
    assert family_target(family, noise_fid=236.0) == target
