"""The study's claims answered on made-up numbers: the interval rule, the verdict wording and
the measures each claim rests on."""

from __future__ import annotations

import numpy as np
import pytest

from ganlab import claims
from ganlab.claims import FAILS, HOLDS, UNKNOWN, accuracy_band, difference_interval, gradient_retention, side
from ganlab.claims import seeds_to_tell


def test_difference_interval_is_welchs():
    # a: mean 2, var 1 (n 3); b: mean 0, var 4 (n 3): se^2 = 1/3 + 4/3, dof = (5/3)^2 / ((1/9 + 16/9) / 2)
    difference, half = difference_interval([1.0, 2.0, 3.0], [-2.0, 0.0, 2.0])
    se, dof = np.sqrt(5 / 3), (5 / 3) ** 2 / ((1 / 9 + 16 / 9) / 2)
    from scipy import stats
    assert difference == 2.0 and half == pytest.approx(stats.t.ppf(0.975, dof) * se)
    assert difference_interval([1.0], [0.0, 1.0]) == (0.5, None)  # one seed: no interval


def test_side_says_holds_fails_or_cannot_tell():
    assert side(1.0, 0.5) == HOLDS
    assert side(-1.0, 0.5) == FAILS
    assert side(0.2, 0.5) == UNKNOWN  # the interval holds the line
    assert side(5.0, None) == UNKNOWN  # one seed: however large the difference
    assert side(0.95, 0.01, 0.9) == HOLDS and side(0.85, 0.01, 0.9) == FAILS


def history(acc_real, acc_fake, d_loss=None, norms=None):
    run = {"d_acc_real": acc_real, "d_acc_fake": acc_fake, "d_loss": d_loss or [1.0] * len(acc_real)}
    if norms is not None:
        run["g_grad_norm"] = norms
    return run


FAMILIES = {"dcgan": "dcgan", "smoothed": "smoothed", "noised": "noised", "wgan": "wgan", "acgan": "acgan"}


def scores(class_accuracy=None, shares=(0.2, 0.2, 0.2, 0.2, 0.2)):
    out = {"class_share": dict(zip("abcde", shares)), "class_entropy": 1.0}
    if class_accuracy is not None:
        out["class_accuracy"] = class_accuracy
    return out


def answers_for(seeds: int, base_band: float, treated_band: float, wgan_norms, dcgan_norms, acc):
    rng = np.random.default_rng(0)

    def wobble(width):  # a run whose accuracy gap has std `width` (+ a little seed noise)
        gap = np.array([1, -1, 1, -1]) * width * (1 + 0.01 * rng.standard_normal())
        return history(list(0.5 + gap / 2), list(0.5 - gap / 2), [1.0, 1.2, 0.9, 1.1])

    histories = {
        "dcgan": [wobble(base_band) | {"g_grad_norm": dcgan_norms, "d_saturation": [0.1, 0.5]}
                  for _ in range(seeds)],
        "smoothed": [wobble(treated_band) for _ in range(seeds)],
        "noised": [wobble(base_band) for _ in range(seeds)],
        "wgan": [wobble(base_band) | {"g_grad_norm": wgan_norms} for _ in range(seeds)],
        "acgan": [wobble(base_band) for _ in range(seeds)],
    }
    per_seed = {v: [scores() for _ in range(seeds)] for v in FAMILIES}
    per_seed["acgan"] = [scores(acc + 0.001 * i) for i in range(seeds)]
    per_seed["noised"] = [scores(shares=(0.9, 0.1, 0.0, 0.0, 0.0)) for _ in range(seeds)]
    return claims.answer(FAMILIES, histories, per_seed)


def verdicts(answers):
    return {a.claim: a.verdict for a in answers}


def test_three_seeds_give_verdicts_each_way():
    found = verdicts(answers_for(3, base_band=0.3, treated_band=0.1, wgan_norms=[1.0, 1.0],
                                 dcgan_norms=[1.0, 0.01], acc=0.95))
    assert found["Label smoothing (smoothed) narrows the band of D's accuracy on real and on fake (dcgan)."] == HOLDS
    # noised's band is the baseline's own, up to seed noise: inside the interval
    assert found["Instance noise (noised) narrows the band of D's accuracy on real and on fake (dcgan)."] == UNKNOWN
    assert found["The Wasserstein loss (wgan) keeps G's gradient from vanishing where the non-saturating GAN loss "
                 "(dcgan) does not."] == HOLDS
    assert found["AC-GAN (acgan) makes the class it is asked for."] == HOLDS
    assert found["AC-GAN (acgan) covers every class."] == HOLDS
    assert found["noised covers every class (no mode collapse)."] == FAILS
    assert found["dcgan covers every class (no mode collapse)."] == HOLDS  # equal shares in every seed


def test_claims_that_do_not_hold_say_so():
    found = verdicts(answers_for(3, base_band=0.1, treated_band=0.3, wgan_norms=[1.0, 0.001],
                                 dcgan_norms=[1.0, 1.0], acc=0.5))
    assert found["Label smoothing (smoothed) narrows the band of D's accuracy on real and on fake (dcgan)."] == FAILS
    assert found["The Wasserstein loss (wgan) keeps G's gradient from vanishing where the non-saturating GAN loss "
                 "(dcgan) does not."] == FAILS
    assert found["AC-GAN (acgan) makes the class it is asked for."] == FAILS


def test_one_seed_cannot_tell_and_says_why():
    answers = answers_for(1, base_band=0.3, treated_band=0.1, wgan_norms=[1.0, 1.0], dcgan_norms=[1.0, 0.01],
                          acc=0.95)
    assert {a.verdict for a in answers} == {UNKNOWN}
    text = claims.markdown(answers, seeds=1)
    assert "- **cannot tell (one seed: no spread to say how many would tell)**: Label smoothing (smoothed) narrows" in text
    assert "one seed gives no interval" in text
    band = next(a for a in answers if "smoothed" in a.claim)
    assert "smoothed 0.0999 vs dcgan 0.3" in band.evidence and band.topic == claims.STABILISED


def test_measures():
    assert accuracy_band(history([0.9, 0.8, 0.7], [0.5, 0.8, 0.9])) == pytest.approx(np.std([0.4, 0.0, -0.2]))
    assert gradient_retention({"g_grad_norm": [2.0, 1.0, 0.02]}) == pytest.approx(-2.0)
    assert claims.least_share({"a": 0.5, "b": 0.3, "c": 0.2}) == pytest.approx(0.6)
    assert claims.loss_unsteadiness({"d_loss": [1.0, 2.0, 1.5]}) == pytest.approx(0.75)


def test_a_further_dcgan_is_answered_against_the_baseline_on_fid_and_recognisable():
    families = {"dcgan": "dcgan", "dcgan_diffaug": "dcgan"}
    histories = {v: [history([0.5, 0.6], [0.5, 0.4])] * 3 for v in families}
    scores = {"dcgan": [{"fid": f, "recognisable": 0.3, "class_share": {"a": 0.5, "b": 0.5}} for f in (80, 82, 84)],
              "dcgan_diffaug": [{"fid": f, "recognisable": r, "class_share": {"a": 0.5, "b": 0.5}}
                                for f, r in ((60, 0.30), (61, 0.32), (62, 0.28))]}
    found = {a.claim: a for a in claims.answer(families, histories, scores, {"dcgan_diffaug": "diffaugment=['color']"})}
    fid = found["dcgan_diffaug (diffaugment=['color']) lowers the FID of the study's DCGAN (dcgan)."]
    assert fid.verdict == HOLDS and fid.topic == claims.BEYOND and "difference -21" in fid.evidence
    # recognisable 0.30 +- 0.05 against 0.30 exactly: inside the interval
    assert found["dcgan_diffaug (diffaugment=['color']) makes more recognisable samples than dcgan."].verdict == UNKNOWN
    assert not [a for a in claims.answer(families, histories, scores) if a.topic == claims.BEYOND]


def test_the_seeds_a_claim_needs_are_the_paired_t_tests_sample_size():
    # effect sizes 1 and 0.5 (mean / sd of the paired differences): Cohen's table and statsmodels'
    # TTestPower give 10 and 34 pairs for 80 % power at 5 %; a normal approximation would say 8 and 32
    assert seeds_to_tell([0.0, 1.0, 2.0]) == 10
    assert seeds_to_tell([-0.5, 0.5, 1.5]) == 34
    assert seeds_to_tell([1.5, 2.5, 3.5], line=2.0) == 34  # against a target, the same test
    assert seeds_to_tell([-0.8, 0.2, 1.2]) is None  # effect 0.2: ~199 seeds, beyond the cap of 100
    assert seeds_to_tell([1.0, 1.0, 1.0]) == 2  # no spread: any two seeds tell
    with pytest.raises(ValueError):
        seeds_to_tell([1.0])


def test_a_claim_that_cannot_tell_says_how_many_seeds_would():
    # differences 0.1 +- 0.1 seed by seed (a paired interval straddling 0): effect size 1, 10 seeds
    treated, base = [0.5, 0.6, 0.7], [0.5, 0.5, 0.5]
    found = claims.compare("t", "c", "a", treated, "b", base, "m", higher_is_claimed=True)
    assert found.verdict == UNKNOWN and found.would_tell == "~10 seeds would tell"
    assert found.markdown().startswith("- **cannot tell (~10 seeds would tell)**: c (")
    assert "paired difference 0.1" in found.evidence
    # the same values unpaired (base has a seed more): Welch's interval, sd of the difference sqrt(0.01 + 0)
    welch = claims.compare("t", "c", "a", treated, "b", base + [0.5], "m", higher_is_claimed=True)
    assert welch.verdict == UNKNOWN and welch.would_tell == "~10 seeds would tell" and "paired" not in welch.evidence
    # a decided claim says nothing more; an effect of nothing needs more seeds than the cap
    assert claims.compare("t", "c", "a", [1.0, 1.1, 1.2], "b", base, "m", True).would_tell == ""
    assert claims.compare("t", "c", "a", [0.4, 0.5, 0.6], "b", base, "m", True).would_tell == \
        "more than 100 seeds would tell"
    assert claims.at_least("t", "c", [0.85, 0.9, 0.95], 0.9, "m").would_tell == "more than 100 seeds would tell"


def test_paired_differences_cancel_what_the_seeds_share():
    # each seed moves both variants alike (a shared draw): the paired interval sees only the
    # effect, Welch's sees the seeds' spread as well and cannot tell
    base = [0.2, 0.5, 0.8]
    treated = [b + 0.1 + e for b, e in zip(base, (0.01, -0.01, 0.0))]
    assert claims.compare("t", "c", "a", treated, "b", base, "m", True).verdict == HOLDS
    difference, half = difference_interval(treated, base)
    assert difference - half < 0 < difference + half


def test_the_forest_plot_is_drawn_from_the_claims_own_numbers(tmp_path):
    import matplotlib.pyplot as plt

    from ganlab.report import forest

    answers = answers_for(3, base_band=0.3, treated_band=0.1, wgan_norms=[1.0, 1.0], dcgan_norms=[1.0, 0.01],
                          acc=0.95)
    fig = forest.figure(answers)
    drawn = forest.rows(answers)
    assert len(fig.axes) == len(drawn) == len(answers)  # three seeds: every claim has an interval
    for ax, answer in zip(fig.axes, drawn):
        centre, half = answer.interval
        if answer.values:  # the per-seed dots are the values the interval came from
            dots = ax.collections[-1].get_offsets()[:, 0]
            np.testing.assert_allclose(dots, answer.values)
            assert np.mean(answer.values) == pytest.approx(centre)
        (left, _), (right, _) = ax.collections[0].get_segments()[0]  # the interval's bar, drawn first
        assert (left, right) == pytest.approx((centre - half, centre + half))
        assert ax.lines[0].get_xdata()[0] == answer.line
        assert answer.claim in ax.get_title(loc="left").replace("\n", " ")
    plt.close(fig)
    assert forest.draw(answers, tmp_path / "claims.png").stat().st_size > 0
    # one seed gives no interval: nothing to draw
    assert forest.draw(answers_for(1, 0.3, 0.1, [1.0, 1.0], [1.0, 0.01], 0.95), tmp_path / "none.png") is None
