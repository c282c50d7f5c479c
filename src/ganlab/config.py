"""The one typed, strict view of params.yaml.

Every stage loads its settings here and nowhere else: an unknown key, a wrong type or an
out-of-range value is refused with a message naming the key, before any data is read or any
model is built. Paths of everything the pipeline writes live here too (from the `paths:` block
that dvc.yaml interpolates), so that they are written down once. The schema states no value of
its own for a top-level setting: params.yaml holds every one (DVC tracks only what is there),
and a missing key is an error that says so. A family's options (family_settings.py) keep
their defaults: a variant block names only what it changes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import Field, PrivateAttr, ValidationError, model_validator
from ruamel.yaml import YAML

from ganlab.family_settings import FAMILIES
from ganlab.strict import PositiveInt, Strict
from ganlab.project_layout import PathsConfig, ProjectLayout

PARAMS_FILE = "params.yaml"
# Names the evaluation uses for its reference rows; a variant may not take them.
RESERVED_NAMES = ("real_test", "noise", "judge")


class ConfigError(ValueError):
    """A params.yaml that cannot be used; the message says which key and how to fix it."""


class DataConfig(Strict):
    source: Literal["fashion_mnist", "mnist", "folder", "npz"]
    # Where the source lives: a folder of IDX files (or mnist.npz) for fashion_mnist/mnist,
    # a folder of class folders for folder, an .npz file for npz. null = the default places.
    path: str | None
    # Labels to keep, in the order they become classes 0..K-1: ints for the IDX sources and npz,
    # folder names for folder. null = every class in the data.
    classes: list[int | str] | None
    # Images kept per class in each split (null = all): a knob for quick runs and tests.
    per_class: PositiveInt | None
    image_size: Annotated[int, Field(ge=8, le=256)]
    # Share of each class held out as the test split, for sources without their own split.
    test_fraction: Annotated[float, Field(gt=0, lt=1)]

    @model_validator(mode="after")
    def _check(self) -> DataConfig:
        if self.image_size % 4:
            raise ValueError(
                f"data.image_size must be a multiple of 4 (the generators upsample twice by 2), "
                f"got {self.image_size}"
            )
        if self.source in ("folder", "npz") and not self.path:
            raise ValueError(f"data.path is required when data.source is {self.source!r}")
        if self.classes is not None:
            if len(self.classes) < 1:
                raise ValueError("data.classes must name at least one class, or be null for all")
            if len(set(map(str, self.classes))) != len(self.classes):
                raise ValueError(f"data.classes has duplicates: {self.classes}")
            if self.source != "folder" and not all(isinstance(c, int) for c in self.classes):
                raise ValueError(f"data.classes must be integer labels for source {self.source!r}")
        return self


class TrainConfig(Strict):
    """Settings shared by every variant; a variant block may override epochs and batch_size."""

    epochs: PositiveInt
    batch_size: PositiveInt
    noise_dim: PositiveInt
    # The fixed-noise sample grid logged every epoch is grid_size x grid_size images.
    grid_size: Annotated[int, Field(ge=1, le=32)]
    # A cheap FID (judge features, fid_samples images) every fid_every epochs, logged as `fid`
    # with step=epoch; the generator of the best one is kept beside the last. 0 = off.
    fid_every: Annotated[int, Field(ge=0)]
    fid_samples: Annotated[int, Field(ge=20)]
    # Bit-identical reruns on CPU at a cost of 0-8 %; on GPUs it can cost much more.
    deterministic: bool
    # How the machine is used (ganlab.devices). auto: float32, no XLA, one device on a CPU;
    # mixed precision (bfloat16 on Ampere+, else float16 with loss scaling) and XLA on a GPU;
    # MirroredStrategy over several GPUs. multi_worker needs TF_CONFIG on every worker.
    precision: Literal["auto", "float32", "mixed_float16", "mixed_bfloat16"]
    xla: Literal["auto", "on", "off"]
    distribute: Literal["auto", "none", "mirrored", "multi_worker"]
    # A run the health check flags (ganlab.health: losses exploding, G's gradient vanishing, D
    # saturated, classes collapsing) stops after that epoch instead of training on.
    stop_unhealthy: bool


# One settings class per GAN family, registered in family_settings.py (pydantic only: no TensorFlow).
FAMILY_NAMES = tuple(FAMILIES)
VariantConfig = Annotated[Union[tuple(FAMILIES.values())], Field(discriminator="family")]


class JudgeConfig(Strict):
    """The classifier whose features the sample-quality metrics use (ganlab.judge)."""

    epochs: PositiveInt
    batch_size: PositiveInt


class EvaluateConfig(Strict):
    """Scoring of every trained variant: fixed sample count (FID is biased by N), fixed seed."""

    # auto: min(2000, the training split) (ganlab.plan); every score records the count it used.
    samples: Literal["auto"] | Annotated[int, Field(ge=20)]
    kid_subsets: PositiveInt
    kid_subset_size: Annotated[int, Field(ge=2)]
    pr_k: PositiveInt  # precision/recall neighbours (Kynkaanniemi et al. 2019)
    dc_k: PositiveInt  # density/coverage neighbours (Naeem et al. 2020)


class MlflowConfig(Strict):
    experiment: Annotated[str, Field(min_length=1)]
    # null = sqlite:///<project root>/mlflow.db; MLFLOW_TRACKING_URI in the environment wins.
    tracking_uri: str | None


class ReportConfig(Strict):
    """The report page (ganlab.report)."""

    # A preview (`make quick`: one seed, a few epochs a variant): the page says so at its top,
    # and that its numbers are not the study's results.
    preview: bool


class Config(Strict, ProjectLayout):
    # `seed`: the data split, the judge and the evaluation's sampling; `seeds`: one training run
    # of every variant per entry (the report shows mean and 95 % interval over them).
    seed: Annotated[int, Field(ge=0)]
    seeds: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]
    paths: PathsConfig
    data: DataConfig
    train: TrainConfig
    variants: dict[str, VariantConfig]
    judge: JudgeConfig
    evaluate: EvaluateConfig
    mlflow: MlflowConfig
    report: ReportConfig
    # The folder params.yaml was read from; relative paths resolve against it.
    _root: Path = PrivateAttr(default=Path("."))

    @model_validator(mode="after")
    def _check(self) -> Config:
        if not self.variants:
            raise ValueError("variants must define at least one variant")
        for name in self.variants:
            if not name.replace("_", "").isalnum():
                raise ValueError(f"variants.{name}: a variant name may hold letters, digits and _")
            if name in RESERVED_NAMES:
                raise ValueError(f"variants.{name}: {name!r} names a reference in the evaluation; rename the variant")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds: {self.seeds} repeats a seed; list each training seed once")
        return self

    def variant(self, name: str) -> VariantConfig:
        if name not in self.variants:
            raise ConfigError(
                f"unknown variant {name!r}: params.yaml defines {', '.join(sorted(self.variants))}"
            )
        return self.variants[name]

    def check_seed(self, seed: int) -> int:
        if seed not in self.seeds:
            raise ConfigError(f"seed {seed} is not in params.yaml's seeds {self.seeds}: add it there to train it")
        return seed

    def run_settings(self, name: str, seed: int) -> RunSettings:
        """The train block with the variant's own overrides applied, for one training seed."""
        v = self.variant(name)
        return RunSettings(
            variant=name,
            family=v.family,
            seed=self.check_seed(seed),
            epochs=v.epochs or self.train.epochs,
            batch_size=v.batch_size or self.train.batch_size,
            noise_dim=self.train.noise_dim,
            grid_size=self.train.grid_size,
            deterministic=self.train.deterministic,
            fid_every=self.train.fid_every,
            fid_samples=self.train.fid_samples,
            precision=self.train.precision,
            xla=self.train.xla,
            stop_unhealthy=self.train.stop_unhealthy,
            distribute=self.train.distribute,
        )

    def relocated(self, root: Path) -> Config:
        """The same settings with every path resolved under another root (a non-chief worker's
        scratch folder in a multi-worker run)."""
        return config_from_dict(self.model_dump(mode="json"), root=root)


class RunSettings(Strict):
    """Everything one training run needs to know, flat."""

    variant: str
    family: str
    seed: int
    epochs: int
    batch_size: int
    noise_dim: int
    grid_size: int
    deterministic: bool
    fid_every: int
    fid_samples: int
    precision: str
    xla: str
    distribute: str
    stop_unhealthy: bool


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(_drop_union_tags([str(p) for p in error["loc"]])) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key; remove it or check its spelling"
    if kind == "union_tag_invalid":
        return f"{key}.family: {error['ctx']['tag']!r} is not a GAN family; use one of {', '.join(FAMILY_NAMES)}"
    if kind == "union_tag_not_found":
        return f"{key}.family: missing; set it to one of {', '.join(FAMILY_NAMES)}"
    if kind == "missing":
        # params.yaml is where DVC tracks each setting, so it states every one; the schema repeats no default
        return f"{key}: missing; params.yaml states every setting: copy it, with its comment, from the project's params.yaml"
    message = error["msg"].removeprefix("Value error, ")
    if key == "(top level)" or message.startswith(key.split(".")[0]):
        return message
    return f"{key}: {message} (got {error.get('input')!r})"


def _drop_union_tags(loc: list[str]) -> list[str]:
    out: list[str] = []
    for i, part in enumerate(loc):
        # pydantic reports variants.<name>.<family tag>.<field>: the tag is noise to a user.
        if i == 2 and loc[0] == "variants" and part in FAMILY_NAMES:
            continue
        out.append(part)
    return out




def load_config(params_file: str | os.PathLike[str] = PARAMS_FILE) -> Config:
    """Read params.yaml (YAML 1.2, as DVC reads it: 1e-4 is a float) into a checked Config."""
    params_path = Path(params_file)
    if not params_path.is_file():
        raise ConfigError(f"{params_path}: no such params file; run from the project root")
    try:
        raw = YAML(typ="safe", pure=True).load(params_path.read_text())
    except Exception as exc:  # ruamel raises many kinds; all mean the same to a user
        raise ConfigError(f"{params_path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{params_path}: expected a mapping of keys at the top level")
    return config_from_dict(raw, root=params_path.resolve().parent, source=str(params_path))


def config_from_dict(raw: dict[str, Any], root: Path = Path("."), source: str = PARAMS_FILE) -> Config:
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None
    config._root = Path(root).resolve()
    return config
