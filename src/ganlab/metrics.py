"""Sample-quality metrics on feature arrays: pure NumPy/SciPy, one row per image.

The features come from the judge classifier (ganlab.judge), trained on the prepared data: no
Inception weights can be downloaded here, and a judge of our own data set measures what matters
for it. Numbers are comparable within one data set and one judge, at a fixed sample count.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist


def _as_features(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"{name}: expected (N >= 2, D) features, got shape {x.shape}")
    return x


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix, by eigh (tiny negative
    eigenvalues from round-off are clipped to 0)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(real_feats: np.ndarray, fake_feats: np.ndarray) -> float:
    """FID (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a
    Local Nash Equilibrium"): the Frechet distance of two Gaussians fitted to the features,
    ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)).

    Tr((S_r S_f)^(1/2)) is computed in the symmetric form Tr((S_r^(1/2) S_f S_r^(1/2))^(1/2)),
    whose eigenvalues are real and non-negative, so singular covariances (dead feature units,
    fewer samples than dimensions) need no epsilon and give no complex round-off.
    Biased by the sample count: compare FIDs only at the same N.
    """
    real, fake = _as_features(real_feats, "real_feats"), _as_features(fake_feats, "fake_feats")
    mu_r, mu_f = real.mean(0), fake.mean(0)
    s_r, s_f = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    root_r = _sqrt_psd(s_r)
    middle = root_r @ s_f @ root_r
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    value = float(np.sum((mu_r - mu_f) ** 2) + np.trace(s_r) + np.trace(s_f) - 2 * trace_sqrt)
    return max(value, 0.0)


def _polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the kernel k(a, b) = (a.b / d + 1)^3."""
    d = x.shape[1]

    def kernel(a, b):
        base = a @ b.T / d + 1
        return base * base * base  # ~4x faster than `** 3`, NumPy's general power: KID's main cost

    k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
    m, n = len(x), len(y)
    return float((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
                 + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
                 - 2 * k_xy.mean())


def kernel_distance(real_feats: np.ndarray, fake_feats: np.ndarray, subsets: int = 100,
                    subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID (Binkowski et al. 2018, "Demystifying MMD GANs"): the unbiased MMD^2 between the
    feature sets with the cubic polynomial kernel (x.y/d + 1)^3, averaged over random subsets
    of subset_size (capped at the smaller set); returns (mean, std over subsets). Unbiased,
    so it can be slightly negative when the sets match."""
    real, fake = _as_features(real_feats, "real_feats"), _as_features(fake_feats, "fake_feats")
    size = min(subset_size, len(real), len(fake))
    rng = np.random.default_rng(seed)
    values = [
        _polynomial_mmd2(real[rng.choice(len(real), size, replace=False)],
                         fake[rng.choice(len(fake), size, replace=False)])
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def _kth_neighbour_radii(feats: np.ndarray, k: int) -> np.ndarray:
    """Distance of each point to its k-th nearest neighbour in the same set (itself excluded)."""
    if len(feats) <= k:
        raise ValueError(f"need more than k={k} points for k-NN radii, got {len(feats)}")
    distances = cdist(feats, feats)
    return np.partition(distances, k, axis=1)[:, k]  # column 0 is the point itself (distance 0)


def precision_recall(real_feats: np.ndarray, fake_feats: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019): each set's manifold is the
    union of balls around its points with radius the distance to their k-th nearest neighbour.
    Precision = share of fakes inside the real manifold (fidelity); recall = share of reals
    inside the fake manifold (diversity). A point is inside a ball when its distance <= radius."""
    real, fake = _as_features(real_feats, "real_feats"), _as_features(fake_feats, "fake_feats")
    real_radii, fake_radii = _kth_neighbour_radii(real, k), _kth_neighbour_radii(fake, k)
    distances = cdist(real, fake)  # (real, fake)
    precision = np.mean((distances <= real_radii[:, None]).any(axis=0))
    recall = np.mean((distances <= fake_radii[None, :]).any(axis=1))
    return float(precision), float(recall)


def density_coverage(real_feats: np.ndarray, fake_feats: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for
    Generative Models"), from k-NN balls around the REAL points only:
    density = (1 / kM) sum_j sum_i 1[fake_j in B(real_i)] (about 1 for matching sets, can
    exceed 1); coverage = share of real balls holding at least one fake. Inside means distance
    strictly below the radius."""
    real, fake = _as_features(real_feats, "real_feats"), _as_features(fake_feats, "fake_feats")
    radii = _kth_neighbour_radii(real, k)
    inside = cdist(real, fake) < radii[:, None]  # (real, fake)
    density = inside.sum() / (k * len(fake))
    coverage = inside.any(axis=1).mean()
    return float(density), float(coverage)


def classifier_score(probs: np.ndarray, eps: float = 1e-12) -> float:
    """The Inception Score's formula (Salimans et al. 2016) on the judge's class probabilities:
    exp(E_x KL(p(y|x) || p(y))). 1 when every sample gets the same prediction; the number of
    classes at most, when predictions are confident and the classes balanced."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs: expected (N, classes), got shape {p.shape}")
    marginal = p.mean(axis=0, keepdims=True)
    kl = np.sum(p * (np.log(p + eps) - np.log(marginal + eps)), axis=1)
    return float(np.exp(kl.mean()))


def class_shares(predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Share of each class among the samples (by the judge's prediction): mode coverage."""
    return np.bincount(np.asarray(predicted, dtype=np.int64), minlength=num_classes) / max(len(predicted), 1)


def label_accuracy(requested: np.ndarray, predicted: np.ndarray) -> float:
    """For a conditional generator: share of samples the judge puts in the requested class."""
    return float(np.mean(np.asarray(requested) == np.asarray(predicted)))


# A sample is `recognisable` when the judge gives one class at least this probability; real test
# images of the default data reach about 0.9 by this rule (the references' row in the report).
RECOGNISABLE_PROBABILITY = 0.9


def recognisable(probs: np.ndarray, threshold: float = RECOGNISABLE_PROBABILITY) -> float:
    """Share of samples to which the judge gives one class a probability >= threshold: images
    a classifier of the data set is sure about, the share a person could name."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"probs: expected (N >= 1, classes), got shape {p.shape}")
    return float(np.mean(p.max(axis=1) >= threshold))


def share_entropy(shares: np.ndarray) -> float:
    """Entropy of the class shares over log(number of classes): 1 when every class gets the same
    share, 0 when one class takes every sample (mode collapse)."""
    s = np.asarray(shares, dtype=np.float64)
    if s.ndim != 1 or len(s) < 2:
        raise ValueError(f"shares: expected one share per class (at least 2), got shape {s.shape}")
    s = s / s.sum()
    nonzero = s[s > 0]
    return float((nonzero * np.log(1 / nonzero)).sum() / np.log(len(s)))
