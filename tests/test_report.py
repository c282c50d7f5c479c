"""The report's building blocks: intervals over seeds, the per-seed aggregation, the ranking at
equal compute, the page's table and the animations (the whole stage: test_pipeline.py; the
claims' verdicts: test_claims.py)."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from conftest import REPO
from ganlab.results import aggregate
from ganlab.report import equal_compute, equal_compute_text, fid_at
from ganlab.report.figures import accuracy_gap_spread, progress_animation
from ganlab.report.page import html_results_table
from ganlab.stats import curve_band, mean_interval


def test_mean_interval_is_the_student_t_interval():
    # values 1, 2, 3: mean 2, sd 1, sem 1/sqrt(3); t(0.975, df=2) = 4.302652729911275
    mean, half = mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.302652729911275 / np.sqrt(3))
    assert mean_interval([5.0]) == (5.0, None)
    with pytest.raises(ValueError, match="non-empty"):
        mean_interval([])


def test_curve_band_averages_seeds_per_epoch_and_cuts_to_the_shortest():
    mean, lower, upper = curve_band([[1.0, 2.0, 9.0], [3.0, 4.0]])
    assert mean.tolist() == [2.0, 3.0]
    assert (upper - mean).tolist() == pytest.approx([12.706204736174705] * 2)  # sd sqrt(2), sem 1, df 1
    assert np.allclose(lower + upper, 2 * mean)
    single = curve_band([[1.0, 2.0]])
    assert all(np.array_equal(single[0], x) for x in single)


def test_aggregate_means_every_number_and_adds_intervals_for_headline_metrics():
    runs = [{"fid": 10.0, "kid_std": 1.0, "class_share": {"a": 0.2}, "mlflow_run_id": "x"},
            {"fid": 20.0, "kid_std": 3.0, "class_share": {"a": 0.4}, "mlflow_run_id": "y"}]
    out = aggregate(runs)
    assert out["fid"] == 15.0 and out["kid_std"] == 2.0 and out["class_share"] == {"a": pytest.approx(0.3)}
    assert out["fid_ci95"] == pytest.approx(12.706204736174705 * 5.0)
    assert "kid_std_ci95" not in out and "mlflow_run_id" not in out and out["seeds"] == 2
    assert "fid_ci95" not in aggregate(runs[:1])


def test_fid_at_equal_images_seen_interpolates_between_scored_epochs():
    # fid scored every other epoch (nan between): the line joins the scored epochs only
    run = {"images_seen": [100.0, 200.0, 300.0, 400.0], "fid": [90.0, np.nan, 50.0, np.nan]}
    assert fid_at(run, 200.0) == pytest.approx(70.0)  # halfway from 90 (100) to 50 (300)
    short = {"images_seen": [100.0, 200.0], "fid": [80.0, 60.0]}
    reach, fids = equal_compute({"long": [run, run], "short": [short]})
    # the most images every variant saw is the short run's 200, not the long run's 400
    assert reach == 200.0 and fids == {"long": [pytest.approx(70.0)] * 2, "short": [60.0]}
    text = equal_compute_text({"long": [run, run], "short": [short]})
    assert "200 images seen" in text and text.index("short 60.0") < text.index("long 70.0 &plusmn; 0.0")


def test_accuracy_gap_spread_is_the_std_of_the_gap_over_epochs():
    history = {"d_acc_real": [0.9, 0.8, 0.7], "d_acc_fake": [0.5, 0.8, 0.9]}
    assert accuracy_gap_spread({"v": [history]}) == {"v": [pytest.approx(np.std([0.4, 0.0, -0.2]))]}


def test_results_table_shows_means_with_intervals_sorted_by_fid():
    row = {"fid": 30.0, "fid_ci95": 4.5, "kid": 0.1, "precision": 0.5, "recall": 0.4, "density": 0.9,
           "coverage": 0.8, "classifier_score": 3.0}
    table = html_results_table({"variants": {"b": row, "a": {**row, "fid": 10.0, "fid_ci95": None}},
                           "references": {"noise": {**row, "fid": 400.0}}})
    assert table.index('data-variant="a"') < table.index('data-variant="b"') < table.index("noise (reference)")
    assert "30.000 &plusmn; 4.500" in table and ">10.000</td>" in table
    assert 'data-metric="class_accuracy">&ndash;' in table


def test_progress_animation_has_one_stamped_frame_per_epoch(tmp_path):
    frames = []
    for epoch in (1, 2, 3):
        path = tmp_path / f"epoch_{epoch:03d}.png"
        iio.imwrite(path, np.full((20, 30), epoch * 60, np.uint8))
        frames.append(path)
    written = progress_animation(frames, tmp_path / "out" / "progress_x")
    gif = iio.imread(written[0], index=None)
    assert written[0].suffix == ".gif" and len(gif) == 3
    assert gif.shape[1:3] == (38, 30)  # an 18-pixel strip names the epoch
    assert gif[0, 20:].mean() == pytest.approx(60, abs=1) and gif[2, 20:].mean() == pytest.approx(180, abs=1)
    assert gif[0, :18].min() < 128  # the stamp's text
    if len(written) == 2:
        assert written[1].suffix == ".mp4" and written[1].stat().st_size > 0


def test_side_by_side_row_copies_every_runs_grids_and_offers_each_epoch(tmp_path):
    import json
    import re

    from ganlab.report.side_by_side import copy_frames, html_block

    grids = {}
    for variant, epochs in (("dcgan", 3), ("wgan", 2)):  # the WGAN trained fewer epochs
        for seed in (0, 1):
            folder = tmp_path / "training" / variant / f"seed{seed}" / "samples"
            folder.mkdir(parents=True)
            for epoch in range(1, epochs + 1):
                iio.imwrite(folder / f"epoch_{epoch:03d}.png", np.full((4, 4), 10 * epoch + seed, np.uint8))
            grids.setdefault(variant, {})[seed] = sorted(folder.glob("epoch_*.png"))
    figures = tmp_path / "reports" / "figures"
    (figures / "epochs" / "gone-seed0").mkdir(parents=True)  # a run no longer in the params
    frames = copy_frames(grids, figures)
    assert sorted(p.name for p in (figures / "epochs").iterdir()) == ["dcgan-seed0", "dcgan-seed1", "wgan-seed0",
                                                                       "wgan-seed1"]
    assert iio.imread(frames["wgan"][1][1])[0, 0] == 21  # epoch 2 of seed 1, copied whole

    block = html_block(frames, tmp_path / "reports")
    assert 'max="3"' in block and 'value="3"' in block  # the slider reaches the longest run
    cells = re.findall(r"<img src=\"([^\"]+)\" alt=\"([^\"]+)\" data-frames='([^']+)'", block)
    assert [alt for _, alt, _ in cells] == ["dcgan-seed0", "wgan-seed0", "dcgan-seed1", "wgan-seed1"]  # a row a seed
    for src, alt, listed in cells:
        paths = json.loads(listed.replace("&quot;", '"'))
        variant = alt.split("-")[0]
        assert paths == [f"figures/epochs/{alt}/epoch_{e:03d}.png" for e in range(1, len(grids[variant][0]) + 1)]
        assert src == paths[-1]  # opens at each run's last grid


def test_memorisation_text_names_the_variants_closer_than_test_images():
    from ganlab.report import memorisation_text

    scores = {"copier": [{"nearest_train": {"median": 0.5}}, {"nearest_train": {"median": 0.7}}],
              "honest": [{"nearest_train": {"median": 3.0}}, {"nearest_train": {"median": 2.0}}]}
    text = memorisation_text(scores, {"nearest_train": {"median": 1.76}})
    assert "real test images 1.76" in text
    assert "(look for copies): copier 0.60." in text and "(no sign of copying): honest 2.50." in text
    assert "(look for copies): none." in memorisation_text({"honest": scores["honest"]}, {"nearest_train": {"median": 1.0}})


def test_the_many_seed_runs_are_listed_with_their_verdicts_and_linked(tmp_path):
    import json

    from ganlab.report.many_seeds import CLAIMS_RUNS, html_block

    assert html_block(tmp_path, tmp_path / "reports") == ""  # nothing run yet: no section
    folder = tmp_path / CLAIMS_RUNS / "beta09"
    folder.mkdir(parents=True)
    (folder / "claims.md").write_text("- **holds**: Label smoothing (smoothed) steadies D's loss (dcgan). (x < y)\n"
                                      "- **cannot tell (~12 seeds would tell)**: Instance noise (noised) ...\n\n"
                                      "95 % intervals over 8 training seeds ...\n")
    (folder / "metrics.json").write_text(json.dumps({"seeds": list(range(8))}))
    block = html_block(tmp_path, tmp_path / "reports")
    assert "8 training seeds" in block and 'href="../results/claims/beta09/claims.md"' in block
    assert block.count("<li>") == 2 and "<strong>holds</strong>" in block and "(x &lt; y)" in block
    assert "0.5" not in block  # the other regime has not run


def test_the_report_stage_depends_on_the_many_seed_runs_it_lists():
    from ruamel.yaml import YAML

    from conftest import REPO
    from ganlab.report.many_seeds import CLAIMS_RUNS

    stages = YAML(typ="safe").load((REPO / "dvc.yaml").read_text())["stages"]
    assert CLAIMS_RUNS.as_posix() in stages["report"]["deps"]


def test_a_preview_says_so_in_its_title_and_first_lines_and_the_default_page_is_unchanged():
    from ganlab.report import headed

    assert headed("GAN lab report", "What the pipeline measured.", False) == ("GAN lab report",
                                                                             "What the pipeline measured.")
    title, intro = headed("GAN lab report", "What the pipeline measured.", True)
    assert title == "GAN lab report (preview)"
    assert intro.startswith("<strong>This is a preview</strong>") and "not the study's" in intro
    assert intro.endswith("What the pipeline measured.")


def test_the_page_prose_file_fills_every_block_the_report_uses(tmp_path):
    import re

    from ganlab.report import prose

    source = "\n".join(p.read_text() for p in (REPO / "src" / "ganlab" / "report").glob("*.py"))
    used = set(re.findall(r'prose\.text\("([a-z_]+)"', source)) | set(re.findall(r'section\("([a-z_]+)"', source))
    assert used and used <= set(prose.blocks())  # a block renamed on one side only fails here
    assert prose.title("claims") == "The study's claims" and prose.title("intro") == ""
    # lines join with one space; HTML stays as written; a missing value is an error, not a blank
    assert prose.text("data", images=10, classes=2, names="a, b") == "10 training images of 2 classes: a, b."
    assert "(<code>make claims</code>," in prose.text("many_seeds")
    with pytest.raises(KeyError):
        prose.text("data", images=10)
    broken = tmp_path / "prose.txt"
    broken.write_text("[a] A\ntext\n[a] again\n")
    with pytest.raises(ValueError, match="defined twice"):
        prose.blocks(broken)
