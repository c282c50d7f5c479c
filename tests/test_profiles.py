"""Every params profile (profiles/*.yaml: CI's gate, the runs kept under results/) gives a
params.yaml that the strict config accepts, with the variants it names."""

from __future__ import annotations

import sys

import pytest
from ruamel.yaml import YAML

from conftest import REPO
from ganlab.config import config_from_dict

sys.path.insert(0, str(REPO / "scripts"))
from check_repro import apply_profile  # noqa: E402

PROFILES = sorted((REPO / "profiles").rglob("*.yaml"))


def load(path):
    return YAML(typ="safe", pure=True).load(path.read_text())


@pytest.mark.parametrize("profile", PROFILES, ids=[p.relative_to(REPO / "profiles").as_posix() for p in PROFILES])
def test_each_profile_gives_a_valid_config_with_its_variants(profile):
    settings = load(profile)
    cfg = config_from_dict(apply_profile(load(REPO / "params.yaml"), settings))
    if "keep_variants" in settings:
        assert list(cfg.variants) == [v for v in load(REPO / "params.yaml")["variants"] | settings.get("variants", {})
                                      if v in settings["keep_variants"]]


def test_beyond_compares_each_option_with_the_study_s_dcgans_at_equal_compute():
    cfg = config_from_dict(apply_profile(load(REPO / "params.yaml"), load(REPO / "profiles" / "beyond.yaml")))
    default = config_from_dict(load(REPO / "params.yaml"))
    assert {cfg.variant(v).family for v in cfg.variants} == {"dcgan", "smoothed", "noised"}
    # the study's three as its code ran them (Keras' Adam beta_1 0.9), which every option keeps
    # but dcgan_adam, the one that changes the optimiser
    assert {v for v in cfg.variants if cfg.variant(v).beta_1 != 0.9} == {"dcgan_adam"}
    assert cfg.variant("dcgan").learning_rate == 1e-4  # the study's, where the default has the DCGAN paper's 2e-4
    assert cfg.seeds == default.seeds
    # equal compute: every variant as many epochs at the same batch
    assert len({(cfg.run_settings(v, 0).epochs, cfg.run_settings(v, 0).batch_size) for v in cfg.variants}) == 1


def test_a_profile_keeping_an_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="keep_variants names"):
        apply_profile(load(REPO / "params.yaml"), {"keep_variants": ["dcgan", "nope"]})


def test_the_claims_regimes_are_the_dcgan_family_at_8_seeds_apart_in_adams_beta_1_only():
    regimes = {name: config_from_dict(apply_profile(load(REPO / "params.yaml"),
                                                    load(REPO / "profiles" / "claims" / f"{name}.yaml")))
               for name in ("beta05", "beta09")}
    for name, cfg in regimes.items():
        assert list(cfg.variants) == ["dcgan", "smoothed", "noised"] and len(cfg.seeds) >= 8
        assert {cfg.variant(v).beta_1 for v in cfg.variants} == {0.5 if name == "beta05" else 0.9}
    a, b = (regimes[name] for name in ("beta05", "beta09"))
    for variant in a.variants:
        assert a.variant(variant).model_dump() == {**b.variant(variant).model_dump(), "beta_1": 0.5}
        assert a.run_settings(variant, 0) == b.run_settings(variant, 0)


def test_a_profile_in_a_folder_keeps_its_results_in_that_folder():
    from run_profile import profile_name

    assert profile_name(REPO / "profiles" / "claims" / "beta09.yaml") == "claims/beta09"
    assert profile_name(REPO / "profiles" / "beyond.yaml") == "beyond"


def test_quick_is_a_one_seed_preview_of_every_default_variant_with_fewer_steps():
    default = config_from_dict(load(REPO / "params.yaml"))
    cfg = config_from_dict(apply_profile(load(REPO / "params.yaml"), load(REPO / "profiles" / "quick.yaml")))
    assert cfg.seeds == [0] and cfg.report.preview and not default.report.preview
    assert list(cfg.variants) == list(default.variants)
    assert cfg.data.per_class < default.data.per_class
    for name in cfg.variants:  # the default's settings, fewer images seen and no weight average
        quick, full = cfg.variant(name).model_dump(), default.variant(name).model_dump()
        quick_images, full_images = quick.pop("epochs") * cfg.data.per_class, full.pop("epochs") * default.data.per_class
        assert 0 < quick_images < full_images and quick.pop("ema") is None, name
        full.pop("ema")
        assert quick == full, name


def test_variant_epochs_must_name_a_variant():
    with pytest.raises(ValueError, match="variant_epochs names 'dcgam'"):
        apply_profile(load(REPO / "params.yaml"), {"variant_epochs": {"dcgam": 3}})
