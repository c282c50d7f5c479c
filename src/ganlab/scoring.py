"""Scoring with the judge: one trained run (the score@<variant>-<seed> stages) or the two
references, the floor (real test images) and the ceiling (uniform noise images), each on the
same fixed draw of real training images and a fixed number of samples. Gathering the scores
into the metrics files is ganlab.results."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist

from ganlab import provenance
from ganlab.cas import classification_accuracy
from ganlab.config import Config, ConfigError
from ganlab.data import Dataset, DataError, load_prepared, to_unit_range
from ganlab.judge import Judge
from ganlab.metrics import (class_shares, classifier_score, density_coverage, frechet_distance,
                            kernel_distance, label_accuracy, precision_recall, recognisable, share_entropy)
from ganlab.plan import evaluate_samples
from ganlab.grids import image_grid
from ganlab.metric_table import HEADLINE, NEAREST_PAIRS, NEAREST_QUANTILES
from ganlab.streams import stream
from ganlab.trained_run import Generator


def score(cfg: Config, real_feats: np.ndarray, feats: np.ndarray, probs: np.ndarray,
          class_names: list[str]) -> dict:
    e = cfg.evaluate
    kid, kid_std = kernel_distance(real_feats, feats, e.kid_subsets, e.kid_subset_size, seed=cfg.seed)
    precision, recall = precision_recall(real_feats, feats, e.pr_k)
    density, coverage = density_coverage(real_feats, feats, e.dc_k)
    shares = class_shares(probs.argmax(axis=1), len(class_names))
    return {
        "fid": frechet_distance(real_feats, feats), "kid": kid, "kid_std": kid_std,
        "precision": precision, "recall": recall, "density": density, "coverage": coverage,
        "classifier_score": classifier_score(probs), "recognisable": recognisable(probs),
        "class_entropy": share_entropy(shares),
        "class_share": {name: float(s) for name, s in zip(class_names, shares)},
    }


def generate(generator: Generator, count: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """count samples from fixed noise; a conditional generator gets the classes in turn."""
    noise = stream("evaluation_noise", seed).standard_normal((count, generator.noise_dim)).astype(np.float32)
    labels = generator.classes_in_turn(count)
    return generator(noise, labels), labels


@dataclass
class RealReference:
    """The real images every score is measured against: evaluate.samples training images drawn
    with a fixed seed, as judge features. The same draw in every score stage."""

    samples: int
    feats: np.ndarray
    labels: np.ndarray
    rng: np.random.Generator  # after the draw: the references' test images and noise come next
    pick: np.ndarray  # which training images


def real_reference(cfg: Config, data: Dataset, judge: Judge) -> RealReference:
    n = evaluate_samples(cfg.evaluate.samples, len(data.y_train))
    if len(data.y_train) < n:
        raise DataError(f"evaluate.samples is {n} but the training split has {len(data.y_train)} images: "
                        "set evaluate.samples: auto, lower it, or keep more data (data.per_class)")
    rng = stream("evaluation_pick", cfg.seed)
    pick = rng.choice(len(data.y_train), n, replace=False)
    feats, _ = judge(to_unit_range(data.x_train[pick]))
    return RealReference(n, feats, data.y_train[pick], rng, pick)


def nearest_neighbours(queries: np.ndarray, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each query's distance to its nearest pool point and that point's index: the memorisation
    check (a sample nearer the training set than held-out real images are may be a copy)."""
    distances = cdist(np.asarray(queries, np.float64), np.asarray(pool, np.float64))
    index = distances.argmin(axis=1)
    return distances[np.arange(len(queries)), index], index


def nearest_train(train_feats: np.ndarray, feats: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
    """The memorisation check of a set of images: their distances to the nearest training image
    (judge features) as quantiles, and (distances, indices) for showing the closest."""
    distances, index = nearest_neighbours(feats, train_feats)
    summary = {"median": float(np.median(distances)),
               "quantiles": [float(q) for q in np.quantile(distances, NEAREST_QUANTILES)]}
    return summary, distances, index


def write_nearest_pairs(images: np.ndarray, train_images: np.ndarray, distances: np.ndarray, index: np.ndarray,
                        path) -> None:
    """The samples nearest the training set (top row) above their nearest training images."""
    import imageio.v3 as iio

    closest = np.argsort(distances, kind="stable")[:NEAREST_PAIRS]
    pairs = np.concatenate([images[closest], train_images[index[closest]]])
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, image_grid(pairs, len(closest)))


def cas(cfg: Config, images: np.ndarray, labels: np.ndarray, data: Dataset) -> float:
    """Classification Accuracy Score (ganlab.cas) of labelled images in [-1, 1], trained as the judge is."""
    return classification_accuracy(images, labels, to_unit_range(data.x_test), data.y_test, data.num_classes,
                                   cfg.judge.epochs, cfg.judge.batch_size, cfg.seed)


def _load_judge(cfg: Config) -> tuple[Judge, dict]:
    facts = json.loads(cfg.judge_facts_file.read_text())
    return Judge.load(cfg.judge_model_file), facts


def _headline(name: str, result: dict) -> str:
    return f"{name:>16}: " + "  ".join(f"{k} {result[k]:.4g}" for k in HEADLINE if k in result)


def evaluate_run(cfg: Config, variant: str, seed: int) -> dict:
    """One trained run (a variant at one training seed) scored against the real reference."""
    started = time.perf_counter()
    data = load_prepared(cfg.prepared_dataset)
    judge, judge_facts = _load_judge(cfg)
    real = real_reference(cfg, data, judge)
    run = cfg.trained_run(variant, seed)
    card, generator = run.card(), run.load_generator()
    images, labels = generate(generator, real.samples, cfg.seed)
    if not np.isfinite(images).all():
        raise ConfigError(f"{run.name}: its generator makes NaN or infinite images (its training "
                          "diverged: see its summary.json's health); retrain it with a lower learning rate")
    feats, probs = judge(images)
    result = score(cfg, real.feats, feats, probs, data.class_names)
    train_images = to_unit_range(data.x_train)
    result["nearest_train"], distances, index = nearest_train(judge(train_images)[0], feats)
    write_nearest_pairs(images, train_images, distances, index, run.nearest_pairs_file)
    if labels is not None:
        result["class_accuracy"] = label_accuracy(labels, probs.argmax(axis=1))
        # Classes with fewer than two images on either side have no covariance: left out.
        result["fid_per_class"] = {
            name: frechet_distance(real.feats[real.labels == c], feats[labels == c])
            for c, name in enumerate(data.class_names)
            if min(np.sum(real.labels == c), np.sum(labels == c)) >= 2
        }
        result["cas"] = cas(cfg, images, labels, data)
    result["samples"] = real.samples
    result["mlflow_run_id"] = card.get("mlflow_run_id")
    result["judge_sha256"] = judge_facts["sha256"]
    result["provenance"] = provenance.card(
        judge_facts, real.samples, len(images), cfg.root, cfg.seed,
        **provenance.run_facts(generator.model, run.raw_generator_file, card["epochs"], seed))
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(_headline(run.name, result), flush=True)
    return result


def evaluate_references(cfg: Config) -> dict:
    """The floor (real test images) and the ceiling (uniform noise), scored like the runs, with
    the judge they were scored by."""
    started = time.perf_counter()
    data = load_prepared(cfg.prepared_dataset)
    judge, judge_facts = _load_judge(cfg)
    real = real_reference(cfg, data, judge)
    names = data.class_names
    test_pick = real.rng.choice(len(data.y_test), min(real.samples, len(data.y_test)), replace=False)
    noise = real.rng.uniform(-1, 1, (real.samples, *data.x_train.shape[1:])).astype(np.float32)
    test_feats, test_probs = judge(to_unit_range(data.x_test[test_pick]))
    train_feats = judge(to_unit_range(data.x_train))[0]
    references = {
        # its CAS: the classifier trained on as many real images as a run's CAS trains on samples
        "real_test": score(cfg, real.feats, test_feats, test_probs, names)
        | {"samples": len(test_pick), "nearest_train": nearest_train(train_feats, test_feats)[0],
           "cas": cas(cfg, to_unit_range(data.x_train[real.pick]), real.labels, data)},
        "noise": score(cfg, real.feats, *judge(noise), names) | {"samples": real.samples},
    }
    for ref in references.values():
        ref["provenance"] = provenance.card(judge_facts, real.samples, ref["samples"], cfg.root, cfg.seed)
    for name, ref in references.items():
        print(_headline(name, ref), flush=True)
    return {
        "samples": real.samples,
        "judge": {"test_accuracy": judge_facts["test_accuracy"], "sha256": judge_facts["sha256"]},
        "references": references,
        "seconds": round(time.perf_counter() - started, 1),
    }
