"""The provenance card of every score (ganlab.provenance) and the Classification Accuracy Score
(ganlab.cas)."""

from __future__ import annotations

import subprocess

import numpy as np

from conftest import blob_images
from ganlab.cas import classification_accuracy
from ganlab.provenance import code_commit, differences
from ganlab.results import provenance_note, provenance_summary

CARD = {"judge_sha256": "ab" * 32, "real_samples": 2000, "generated_samples": 2000, "generator": "raw weights",
        "precision": "float32", "training_seed": 0, "code_commit": "f63a7f21d5ee"}


def test_the_entries_that_differ_are_named_and_a_runs_own_seed_is_not():
    cards = {"dcgan-seed0": CARD, "dcgan-seed1": {**CARD, "training_seed": 1},
             "acgan-seed0": {**CARD, "precision": "mixed_bfloat16", "generator": "weight average (ema)"}}
    differ = differences(cards)
    assert differ == {"generator": ["raw weights", "weight average (ema)"], "precision": ["float32", "mixed_bfloat16"]}
    summary = provenance_summary(cards)
    assert summary["shared"] == {k: v for k, v in CARD.items() if k not in ("generator", "precision", "training_seed")}
    assert provenance_note(differ) == (" Scores computed with different generator (raw weights, weight average "
                                       "(ema)); precision (float32, mixed_bfloat16).")
    # a variant's budget differs by design too
    assert differences({"a": {**CARD, "epochs": 20}, "b": {**CARD, "training_seed": 2, "epochs": 7}}) == {}
    assert provenance_note({}) == ""


def git(folder, *args):
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


def test_the_code_commit_is_heads_marked_when_the_code_differs_and_unknown_in_a_copy(tmp_path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "a.py").write_text("x = 1\n")
    (project / "reports").mkdir()
    (project / "reports" / "score.json").write_text("{}\n")
    git(project, "init", "-q")
    git(project, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=project, capture_output=True,
                          text=True).stdout.strip()
    (project / "reports" / "score.json").write_text('{"fid": 1}\n')  # an output written by a stage
    assert code_commit(project) == head
    (project / "src" / "a.py").write_text("x = 2\n")
    assert code_commit(project) == head + "+changes"
    assert code_commit(project / "src") == "unknown"  # a folder inside another checkout is no checkout
    assert code_commit(tmp_path) == "unknown"


def test_cas_is_high_for_samples_that_teach_the_classes_and_near_chance_for_ones_that_do_not():
    rng = np.random.default_rng(0)
    labels = np.arange(300) % 3
    images = blob_images(labels, 16)[..., None].astype("float32") / 127.5 - 1
    test_labels = np.arange(90) % 3
    test = blob_images(test_labels, 16, seed=1)[..., None].astype("float32") / 127.5 - 1
    taught = classification_accuracy(images, labels, test, test_labels, 3, epochs=3, batch_size=32, seed=0)
    assert taught > 0.9
    # the same images under labels that say nothing about them: what a generator ignoring its
    # requested class gives
    shuffled = classification_accuracy(images, rng.permutation(labels), test, test_labels, 3, epochs=3,
                                       batch_size=32, seed=0)
    assert shuffled < 0.6
    assert taught == classification_accuracy(images, labels, test, test_labels, 3, epochs=3, batch_size=32, seed=0)
