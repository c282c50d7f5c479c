"""The budget sweep's table (tools/sweep, docs/budget.md): each row the mean of the three epochs
ending at a mark, minutes at the run's fastest epoch; and its points are valid params."""

from __future__ import annotations

import csv

import pytest

from conftest import REPO, read_yaml
from ganlab.config import config_from_dict
from tools.sweep.__main__ import POINTS, point_params, table


@pytest.mark.parametrize("name", sorted(POINTS))
def test_every_point_is_a_valid_one_variant_project(name):
    cfg = config_from_dict(point_params(read_yaml(REPO / "params.yaml"), name))
    assert list(cfg.variants) == [name] and cfg.seeds == [0]
    variant, changes = POINTS[name][:2]
    default = config_from_dict(read_yaml(REPO / "params.yaml")).run_settings(variant, 0)
    assert cfg.run_settings(name, 0).epochs == changes.get("epochs", default.epochs)  # a point without: the default's
    precision = POINTS[name][3].get("precision", default.precision) if len(POINTS[name]) > 3 else default.precision
    assert cfg.run_settings(name, 0).precision == precision


def test_the_table_means_the_last_three_epochs_at_each_mark(tmp_path, monkeypatch):
    monkeypatch.setattr("tools.sweep.__main__.OUT", tmp_path)
    folder = tmp_path / "acgan_b64"
    folder.mkdir()
    with open(folder / "history.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["epoch", "epoch_seconds", "images_seen", "fid", "recognisable", "class_entropy",
                                     "class_accuracy"])
        writer.writeheader()
        for epoch in range(1, 6):  # FID 100, 90, ..., 60; the fastest epoch takes 10.7 s
            writer.writerow({"epoch": epoch, "epoch_seconds": 10.7 + (epoch == 2), "images_seen": 5000 * epoch,
                             "fid": 110 - 10 * epoch, "recognisable": 0.1 * epoch, "class_entropy": 0.9,
                             "class_accuracy": 0.5})
    rows = table().splitlines()[2:]
    assert rows == ["| acgan_b64 | 3 | 15,000 | 0.6 | 90.0 | 0.20 | 0.90 | 0.50 |",  # (100+90+80)/3, 3 x 12 s
                    "| acgan_b64 | 5 | 25,000 | 1.0 | 70.0 | 0.40 | 0.90 | 0.50 |"]


def test_a_point_at_another_seed_is_that_seed_s_project_and_a_bad_seed_is_refused():
    from ganlab.config import ConfigError
    from tools.sweep.__main__ import split_point

    assert split_point("dcgan_b32") == ("dcgan_b32", 0) and split_point("dcgan_b32@2") == ("dcgan_b32", 2)
    cfg = config_from_dict(point_params(read_yaml(REPO / "params.yaml"), "wgan_b64_ema@1"))
    assert list(cfg.variants) == ["wgan_b64_ema"] and cfg.seeds == [1]
    for bad in ("dcgan_b32@one", "no_such_point@1"):
        with pytest.raises(ConfigError, match="unknown sweep point"):
            split_point(bad)


def test_the_table_lists_a_point_s_other_seeds_after_it(tmp_path, monkeypatch):
    monkeypatch.setattr("tools.sweep.__main__.OUT", tmp_path)
    for name in ("wgan_b64@2", "wgan_b64", "wgan_b64@1"):
        (tmp_path / name).mkdir()
        with open(tmp_path / name / "history.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, ["epoch", "epoch_seconds", "images_seen", "fid", "recognisable",
                                         "class_entropy"])
            writer.writeheader()
            writer.writerow({"epoch": 1, "epoch_seconds": 5, "images_seen": 4800, "fid": 300,
                             "recognisable": 0, "class_entropy": 0.1})
    assert [row.split(" | ")[0] for row in table().splitlines()[2:]] == ["| wgan_b64", "| wgan_b64@1", "| wgan_b64@2"]
