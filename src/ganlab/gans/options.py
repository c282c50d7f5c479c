"""Every GAN family's settings: the keys of its block under params.yaml's `variants`.

Pydantic only (no TensorFlow), so params.yaml is checked in a fraction of a second by every
stage. Each class registers itself with @family under the name of its `family` literal, which
is also the name of its trainer module, gans/<family>.py. A new family: its class here, its
module there, a block in params.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from pydantic import Field

from ganlab.strict import PositiveFloat, PositiveInt, Strict

# family name -> its settings class, in the order the classes are defined
FAMILIES: dict[str, type[VariantSettings]] = {}


@dataclass(frozen=True)
class DataSpec:
    """What a family needs to know of the data to build its networks."""

    image_size: int
    channels: int
    num_classes: int


def family(cls: type[VariantSettings]) -> type[VariantSettings]:
    """Register a settings class under its `family` literal."""
    name = get_args(cls.model_fields["family"].annotation)[0]
    if name in FAMILIES:
        raise ValueError(f"two settings classes for family {name!r}")
    FAMILIES[name] = cls
    return cls


class VariantSettings(Strict):
    """What every variant may set; a family adds its own options."""

    family: str
    epochs: PositiveInt | None = None  # overrides train.epochs
    batch_size: PositiveInt | None = None  # overrides train.batch_size

    @property
    def batches_per_step(self) -> int:
        """Batches one training step takes (a WGAN critic's n_critic); the trainer uses this."""
        return getattr(self, "n_critic", 1)

    @property
    def conditional(self) -> bool:
        """Whether the generator is asked for a class (and needs at least two)."""
        return False


Beta = Annotated[float, Field(ge=0, lt=1)]


@family
class DCGANVariant(VariantSettings):
    """The study's DCGAN: BCE on logits, Adam for both networks, one D and one G step a batch."""

    family: Literal["dcgan"]
    learning_rate: PositiveFloat = 1e-4
    beta_1: Beta = 0.9
    beta_2: Beta = 0.999


@family
class SmoothedVariant(DCGANVariant):
    """DCGAN with label smoothing (Salimans et al. 2016): real target alpha, fake target 0.

    two_sided reproduces the study's code: fake target 1 - alpha, generator target alpha."""

    family: Literal["smoothed"]  # type: ignore[assignment]
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.9
    two_sided: bool = False


@family
class NoisedVariant(DCGANVariant):
    """DCGAN with instance noise (Arjovsky and Bottou 2017): Gaussian noise on D's inputs,
    its stddev drawn per batch from U(0, max_std)."""

    family: Literal["noised"]  # type: ignore[assignment]
    max_std: Annotated[float, Field(ge=0)] = 0.1
    apply_to: Literal["both", "real"] = "both"  # "real" is the study's form
    decay: bool = False  # scale max_std linearly from 1x to 0x over the training


@family
class ACGANVariant(VariantSettings):
    """AC-GAN (Odena et al. 2017) with the study's networks. The study gives no optimiser;
    the default is the AC-GAN paper's Adam(2e-4, beta_1 0.5)."""

    family: Literal["acgan"]
    learning_rate: PositiveFloat = 2e-4
    beta_1: Beta = 0.5
    beta_2: Beta = 0.999

    @property
    def conditional(self) -> bool:
        return True


@family
class WGANVariant(VariantSettings):
    """WGAN with weight clipping (Arjovsky et al. 2017, Algorithm 1 and its defaults)."""

    family: Literal["wgan"]
    learning_rate: PositiveFloat = 5e-5
    clip: PositiveFloat = 0.01
    n_critic: PositiveInt = 5


@family
class WGANGPVariant(VariantSettings):
    """WGAN with gradient penalty (Gulrajani et al. 2017, Algorithm 1 and its defaults)."""

    family: Literal["wgan_gp"]
    learning_rate: PositiveFloat = 1e-4
    beta_1: Beta = 0.5
    beta_2: Beta = 0.9
    gp_weight: Annotated[float, Field(ge=0)] = 10.0
    n_critic: PositiveInt = 5
