"""Every GAN family's settings: the keys of its block under params.yaml's `variants`.

Pydantic only (no TensorFlow), so params.yaml is checked in a fraction of a second by every
stage. Each class registers itself with @family under the name of its `family` literal, which
is also the name of its trainer module, gans/<family>.py. A new family: its class here, its
module there, a block in params.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from ganlab.strict import PositiveFloat, PositiveInt, Strict

# A generator asked for a class needs classes to tell apart (AC-GAN's auxiliary classifier).
CONDITIONAL_MIN_CLASSES = 2

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
    # Two time-scale update rule (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update
    # Rule Converge to a Local Nash Equilibrium"): each network's own learning rate; unset, the
    # family's learning_rate.
    d_learning_rate: PositiveFloat | None = None
    g_learning_rate: PositiveFloat | None = None
    # An exponential moving average of the generator's weights with this decay (Yazici et al.
    # 2019, "The Unusual Effectiveness of Averaging in GAN Training"): grids, FID and the saved
    # generator are the average's; the raw generator is saved beside it.
    ema: Annotated[float, Field(gt=0, lt=1)] | None = None
    # DiffAugment (Zhao et al. 2020): the same differentiable, randomly drawn transformations of
    # real and generated images before D, in this order (ganlab.augment); empty: none.
    diffaugment: list[Literal["color", "translation", "cutout"]] = []
    # Spectral normalisation of D's conv and dense kernels (Miyato et al. 2018, "Spectral
    # Normalization for Generative Adversarial Networks"), as Keras' SpectralNormalization.
    spectral_norm: bool = False
    # R1 (Mescheder, Geiger and Nowozin 2018, "Which Training Methods for GANs do actually
    # Converge?", eq. 9): (r1 / 2) E[||grad_x D(x)||^2] on real images added to D's loss; 0: off.
    r1: Annotated[float, Field(ge=0)] = 0.0

    @property
    def batches_per_step(self) -> int:
        """Batches one training step takes (a WGAN critic's n_critic); the trainer uses this."""
        return getattr(self, "n_critic", 1)

    @property
    def conditional(self) -> bool:
        """Whether the generator is asked for a class (and needs at least two)."""
        return False

    @property
    def uses_total_steps(self) -> bool:
        """Whether a train step depends on the total steps (a schedule over the training): then
        a run cannot be extended to more epochs, only trained afresh."""
        return False

    @property
    def d_lr(self) -> float:
        """The discriminator's (critic's) learning rate."""
        return self.d_learning_rate or self.learning_rate

    @property
    def g_lr(self) -> float:
        """The generator's learning rate."""
        return self.g_learning_rate or self.learning_rate

    @property
    def g_optimizer_averaging(self) -> dict:
        """Keras optimizer arguments that keep the moving average of G's weights (`ema`)."""
        return {"use_ema": True, "ema_momentum": self.ema} if self.ema else {}


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

    @property
    def uses_total_steps(self) -> bool:
        return self.decay


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

    @model_validator(mode="after")
    def _one_constraint_on_the_critic(self):
        if self.spectral_norm or self.r1:
            raise ValueError("wgan constrains its critic by clipping its weights; spectral_norm and r1 are other "
                             "ways to do that: use them with wgan_gp (spectral_norm) or a minimax family, or drop them")
        return self


@family
class WGANGPVariant(VariantSettings):
    """WGAN with gradient penalty (Gulrajani et al. 2017, Algorithm 1 and its defaults)."""

    family: Literal["wgan_gp"]
    learning_rate: PositiveFloat = 1e-4
    beta_1: Beta = 0.5
    beta_2: Beta = 0.9
    gp_weight: Annotated[float, Field(ge=0)] = 10.0
    n_critic: PositiveInt = 5

    @model_validator(mode="after")
    def _one_gradient_penalty(self):
        if self.r1:
            raise ValueError("wgan_gp already penalises the critic's gradient (gp_weight); r1 would be a second "
                             "penalty: drop r1, or use it with a minimax family (dcgan, smoothed, noised, acgan)")
        return self
