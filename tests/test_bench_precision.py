"""bfloat16's quality check (tools/bench/precision.py) on made-up histories: the paired
differences, the seed spread they are held against, and the speed."""

from __future__ import annotations

import pytest

from tools.bench.precision import compare, final_score


def history(fids, recognisable, seconds=10.0):
    return [{"fid": str(f), "recognisable": str(r), "epoch_seconds": str(seconds)} for f, r in zip(fids, recognisable)]


def test_the_final_score_is_the_mean_of_the_last_three_epochs():
    assert final_score(history([90, 50, 40, 30, 20], [0.1] * 5), "fid") == pytest.approx(30.0)
    with pytest.raises(ValueError):
        final_score([{"fid": ""}], "fid")


def test_bfloat16_within_the_float32_seeds_spread_is_inside():
    # float32 seeds end at FID 20, 30, 40 (sd 10); bfloat16 moves each by +2, -1, +5: mean +2, inside
    fp32 = {s: history([100, f, f, f], [0.5] * 4) for s, f in enumerate((20, 30, 40))}
    bf16 = {s: history([100, f, f, f], [0.5] * 4, seconds=8.0) for s, f in enumerate((22, 29, 45))}
    result = compare(fp32, bf16)
    fid = result["scores"]["fid"]
    assert fid["mean_difference"] == pytest.approx(2.0) and fid["float32_sd"] == pytest.approx(10.0)
    assert fid["inside_seed_spread"] and result["inside_seed_spread"]
    assert result["speedup"] == pytest.approx(1.25)  # 10 s against 8 s an epoch


def test_a_shift_larger_than_the_seed_spread_is_outside():
    # recognisable 0.50, 0.52, 0.54 in float32 (sd 0.02); bfloat16 0.05 lower in every seed
    fp32 = {s: history([30] * 3, [r] * 3) for s, r in enumerate((0.50, 0.52, 0.54))}
    bf16 = {s: history([30] * 3, [r - 0.05] * 3) for s, r in enumerate((0.50, 0.52, 0.54))}
    result = compare(fp32, bf16)
    assert not result["scores"]["recognisable"]["inside_seed_spread"] and not result["inside_seed_spread"]
    assert result["scores"]["fid"]["inside_seed_spread"]  # no difference at all


def test_only_the_seeds_both_sides_ran_are_paired():
    fp32 = {s: history([30] * 3, [0.5] * 3) for s in (0, 1, 2)}
    assert compare(fp32, {s: fp32[s] for s in (0, 2)})["seeds"] == [0, 2]
    with pytest.raises(ValueError):
        compare(fp32, {0: fp32[0]})
