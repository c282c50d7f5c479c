"""The sample-quality metrics against closed forms and small hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from ganlab.metrics import (class_shares, classifier_score, density_coverage, frechet_distance,
                            kernel_distance, label_accuracy, precision_recall, recognisable, share_entropy)


def gaussian(rng, mean, cov, n=200_000):
    return rng.multivariate_normal(mean, cov, size=n)


def fid_closed_form(mu1, s1, mu2, s2) -> float:
    """Independent reference: scipy's sqrtm of the (non-symmetric) product, real part."""
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean))


def test_fid_of_identical_sets_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 8))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fid_of_two_diagonal_gaussians():
    # Diagonal covariances commute: FID = |mu1 - mu2|^2 + sum (sigma1 - sigma2)^2 exactly.
    rng = np.random.default_rng(1)
    sd1, sd2 = np.array([1.0, 2.0, 0.5]), np.array([2.0, 1.0, 0.5])
    mu1, mu2 = np.array([0.0, 0.0, 0.0]), np.array([1.0, -2.0, 0.0])
    expected = 1 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0  # = 7
    got = frechet_distance(gaussian(rng, mu1, np.diag(sd1**2)), gaussian(rng, mu2, np.diag(sd2**2)))
    assert got == pytest.approx(expected, rel=0.02)


def test_fid_matches_an_independent_computation_for_full_covariances():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))  # covariances a a^T, b b^T do not commute
    x, y = rng.normal(size=(3000, 4)) @ a.T, rng.normal(size=(3000, 4)) @ b.T + 1.0
    reference = fid_closed_form(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert frechet_distance(x, y) == pytest.approx(reference, rel=1e-6)


def test_fid_with_singular_covariances_is_finite():
    # Dead units (constant zero features) and fewer samples than dimensions: singular covariances.
    rng = np.random.default_rng(3)
    x = np.hstack([rng.normal(size=(20, 5)), np.zeros((20, 40))])
    y = np.hstack([rng.normal(size=(20, 5)) + 2.0, np.zeros((20, 40))])
    got = frechet_distance(x, y)
    assert np.isfinite(got) and got > 0
    # Dead dimensions add nothing: the same as on the live ones alone.
    assert got == pytest.approx(frechet_distance(x[:, :5], y[:, :5]), rel=1e-6)


def mmd2_by_hand(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_against_a_hand_computed_mmd():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3)) + 0.5
    mean, std = kernel_distance(x, y, subsets=3, subset_size=6)  # the whole sets every time
    assert mean == pytest.approx(mmd2_by_hand(x, y), rel=1e-9) and std == pytest.approx(0.0, abs=1e-12)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_the_shift():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
    same, _ = kernel_distance(x, y, subsets=20, subset_size=500)
    near, _ = kernel_distance(x, y + 0.3, subsets=20, subset_size=500)
    far, _ = kernel_distance(x, y + 1.0, subsets=20, subset_size=500)
    assert abs(same) < 0.01 < near < far


def test_precision_recall_of_identical_and_disjoint_sets():
    x = np.random.default_rng(6).normal(size=(300, 4))
    assert precision_recall(x, x) == (1.0, 1.0)
    assert precision_recall(x, x + 100.0) == (0.0, 0.0)


def test_precision_recall_hand_computed():
    # 1-D. Real: 0, 1, 2, 3 -> 1st-neighbour radius 1 each (k=1). Fake: 0.5, 10, 11, 13
    # -> fake radii: 0.5 -> 9.5, 10 -> 1, 11 -> 1, 13 -> 2.
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[0.5], [10.0], [11.0], [13.0]])
    precision, recall = precision_recall(real, fake, k=1)
    assert precision == pytest.approx(1 / 4)  # only 0.5 lies within 1 of a real point
    assert recall == pytest.approx(1.0)  # every real point lies within 9.5 of the fake 0.5


def test_density_coverage_hand_computed():
    # Real 0, 1, 2, 3 with k=1: radius 1 each, strict <. Fake 0.5 lies in the balls of 0 and 1;
    # fake 2.0 in the ball of 2 only (|2 - 1| = 1 is not < 1, nor |2 - 3|); fake 10 in none.
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[0.5], [2.0], [10.0]])
    density, coverage = density_coverage(real, fake, k=1)
    assert density == pytest.approx((2 + 1 + 0) / (1 * 3))
    assert coverage == pytest.approx(3 / 4)  # the balls of 0, 1, 2 hold a fake; 3's does not


def test_density_coverage_of_matching_distributions():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4))
    density, coverage = density_coverage(x, y)
    assert density == pytest.approx(1.0, abs=0.1) and coverage > 0.9
    assert density_coverage(x, y + 50)[1] == 0.0


def test_classifier_score_bounds():
    k = 5
    assert classifier_score(np.full((100, k), 1 / k)) == pytest.approx(1.0)
    assert classifier_score(np.tile(np.eye(k)[0], (100, 1))) == pytest.approx(1.0)  # one mode
    assert classifier_score(np.eye(k)[np.arange(100) % k]) == pytest.approx(k, rel=1e-6)
    # Two classes, p(y|x) = (0.9, 0.1) and (0.1, 0.9) half each: KL = 0.9 ln 1.8 + 0.1 ln 0.2.
    probs = np.array([[0.9, 0.1], [0.1, 0.9]] * 50)
    assert classifier_score(probs) == pytest.approx(np.exp(0.9 * np.log(1.8) + 0.1 * np.log(0.2)))


def test_class_shares_and_label_accuracy():
    assert class_shares(np.array([0, 0, 2, 2, 2, 1]), 4).tolist() == pytest.approx([2 / 6, 1 / 6, 3 / 6, 0])
    assert label_accuracy(np.array([0, 1, 2, 3]), np.array([0, 1, 0, 3])) == 0.75


def test_recognisable_is_the_share_with_one_class_at_or_above_the_threshold():
    probs = np.array([
        [0.90, 0.05, 0.05],  # exactly the threshold: counts (a strict > would miss it)
        [0.89, 0.11, 0.00],  # just below
        [0.05, 0.05, 0.90],  # any class, not only the first (a p[:, 0] would miss it)
        [0.34, 0.33, 0.33],  # unsure
    ])
    assert recognisable(probs) == 0.5
    assert recognisable(probs, threshold=0.3) == 1.0
    with pytest.raises(ValueError, match="expected"):
        recognisable(np.zeros(3))


def test_share_entropy_is_one_for_uniform_shares_and_zero_for_one_class():
    assert share_entropy(np.full(5, 0.2)) == pytest.approx(1.0)
    assert share_entropy(np.array([1.0, 0, 0, 0])) == 0.0
    # two classes at 3/4 and 1/4, over log 2: (3/4 log 4/3 + 1/4 log 4) / log 2
    expected = (0.75 * np.log(4 / 3) + 0.25 * np.log(4)) / np.log(2)
    assert share_entropy(np.array([0.75, 0.25])) == pytest.approx(expected)
    # counts are normalised: the same as shares
    assert share_entropy(np.array([3.0, 1.0])) == pytest.approx(expected)


def test_bad_feature_shapes_are_refused():
    with pytest.raises(ValueError, match="expected"):
        frechet_distance(np.zeros(5), np.zeros((5, 2)))
