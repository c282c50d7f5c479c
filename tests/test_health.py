"""The health check (ganlab.health) on made-up histories, one planted failure per rule, and on
every committed history, none of which may be flagged."""

from __future__ import annotations

import csv

import pytest

from conftest import REPO
from ganlab.health import findings, status


def history(epochs: int = 6, **curves) -> list[dict]:
    """A healthy DCGAN-like history, with any curve replaced by the given values per epoch."""
    rows = []
    for e in range(epochs):
        row = {"epoch": str(e + 1), "g_loss": 0.9 + 0.1 * e, "d_loss": 1.2 - 0.05 * e, "g_grad_norm": 6.0 - 0.5 * e,
               "d_saturation": 0.0, "class_entropy": min(1.0, 0.1 + 0.3 * e)}
        for key, values in curves.items():
            row[key] = values[e]
        rows.append({k: str(v) for k, v in row.items()})
    return rows


def test_a_healthy_history_is_healthy():
    assert findings(history()) == [] and status(history()) == "healthy"


@pytest.mark.parametrize("curves,expected,epoch", [
    ({"d_loss": [1.2, 1.1, float("nan"), 1.0, 1.0, 1.0]}, "diverged", 3),
    ({"g_loss": [0.9, 1.0, float("inf"), 1.0, 1.0, 1.0]}, "diverged", 3),
    # the learning_rate 50 DCGAN of issue 29: 4e13, then 3e14
    ({"g_loss": [0.99, 4e13, 3e14, 3e14, 3e14, 3e14]}, "diverged", 2),
    # ... which, as it ran, was there after its first epoch
    ({"g_loss": [4e13, 3e14, 3e14, 3e14, 3e14, 3e14]}, "diverged", 1),
    ({"g_grad_norm": [6.0, 3.0, 0.0001, 0.0, 0.0, 0.0]}, "vanishing", 3),
    ({"d_saturation": [0.0, 0.95, 0.96, 0.97, 0.1, 0.0]}, "vanishing", 4),
    ({"class_entropy": [0.1, 0.6, 0.95, 0.7, 0.45, 0.3]}, "collapsed", 5),
])
def test_each_planted_failure_is_named_at_its_epoch(curves, expected, epoch):
    found = findings(history(**curves))
    assert [(f.status, f.epoch) for f in found] == [(expected, epoch)], found


def test_near_misses_are_not_flagged():
    # what healthy runs do: a WGAN critic loss 33x its start, D sure of the fakes for two epochs
    # only, a class entropy that starts low and climbs, G's gradient at a fifth of its start
    assert findings(history(d_loss=[0.5, 5.0, 20.0, 33.0, 33.0, 33.0])) == []
    assert findings(history(d_saturation=[0.0, 0.95, 0.95, 0.5, 0.95, 0.95])) == []
    assert findings(history(class_entropy=[0.02, 0.05, 0.3, 0.6, 0.79, 0.9])) == []
    assert findings(history(g_grad_norm=[6.0, 3.0, 1.2, 1.2, 1.2, 1.2])) == []


def test_the_worst_finding_is_the_status():
    both = history(g_loss=[0.9, 5e5, 1.0, 1.0, 1.0, 1.0], class_entropy=[0.1, 0.9, 0.2, 0.2, 0.2, 0.2])
    assert [f.status for f in findings(both)] == ["diverged", "collapsed"] and status(both) == "diverged"


COMMITTED = sorted(REPO.glob("training/*/seed*/history.csv"))


@pytest.mark.parametrize("path", COMMITTED, ids=[str(p.relative_to(REPO)) for p in COMMITTED])
def test_no_committed_healthy_run_is_flagged(path):
    with open(path, newline="") as fh:
        assert findings(list(csv.DictReader(fh))) == []


def test_the_committed_runs_are_checked():
    assert len(COMMITTED) >= 18  # the default's six variants at three seeds


def test_a_flagged_run_is_left_out_of_its_variants_means_and_named_with_its_reason():
    from ganlab.results import health_note, variant_means

    by_seed = {"0": {"fid": 20.0, "health": "healthy"}, "1": {"fid": 376.0, "health": "diverged",
                                                           "health_reason": "epoch 2: g_loss 4e+13"},
               "2": {"fid": 22.0, "health": "healthy"}}
    means = variant_means(by_seed)
    assert means["fid"] == 21.0 and means["left_out"] == ["1"]  # the mean of the two healthy seeds
    assert health_note({"dcgan": means}) == (" Unhealthy runs (ganlab.health): dcgan-seed1 diverged (epoch 2: "
                                             "g_loss 4e+13), left out of the means.")
    # every run flagged: all kept, and marked
    bad = {s: {"fid": 300.0 + int(s), "health": "collapsed", "health_reason": "r"} for s in ("0", "1")}
    means = variant_means(bad)
    assert means["fid"] == 300.5 and "left_out" not in means and set(means["flagged"]) == {"0", "1"}
    assert variant_means({"0": {"fid": 1.0, "health": "healthy"}}) == {"fid": 1.0}


def test_the_claims_rest_on_the_kept_runs_only():
    from ganlab.report import kept_runs

    histories = {"dcgan": ["h0", "h1", "h2"], "noised": ["n0", "n1", "n2"]}
    scores = {"dcgan": [{"health": "healthy"}, {"health": "vanishing"}, {"health": "healthy"}],
              "noised": [{"health": "healthy"}] * 3}
    kept_histories, kept_scores = kept_runs(histories, scores)
    assert kept_histories == {"dcgan": ["h0", "h2"], "noised": ["n0", "n1", "n2"]}
    assert [s["health"] for s in kept_scores["dcgan"]] == ["healthy", "healthy"]


def test_the_side_by_side_row_outlines_and_names_an_unhealthy_run(tmp_path):
    from ganlab.report import flagged_runs
    from ganlab.report.side_by_side import html_block

    scores = {"dcgan": [{"health": "healthy"}, {"health": "diverged"}]}
    flagged = flagged_runs(scores, [0, 1])
    assert flagged == {"dcgan": {1: "diverged"}}
    frames = {"dcgan": {s: [tmp_path / f"s{s}" / "epoch_001.png"] for s in (0, 1)}}
    block = html_block(frames, tmp_path, flagged)
    assert block.count('class="flagged-run"') == 1 and 'data-health="diverged"' in block
    assert "diverged (left out of the means)" in block
