"""What every GAN family shares: a keras.Model that owns G and D, two optimisers, the
per-epoch trackers, and seeded noise (the shape of keras-io's GAN examples)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ganlab.augment import diff_augment
from ganlab.losses import r1_penalty
from ganlab.family_settings import VariantSettings
from ganlab.models import spectrally_normalised
from ganlab.trained_run import Generator

# g_grad_norm: the norm of G's gradient, every family's (the Wasserstein loss's claim is about it).
SHARED_METRICS = ("g_loss", "d_loss", "d_acc_real", "d_acc_fake", "g_grad_norm")
# Families with a probability-valued D (BCE on logits) also log how saturated D is on fakes.
MINIMAX_METRICS = (*SHARED_METRICS, "d_saturation")
# The stabilisers' draws (instance noise, DiffAugment, WGAN-GP's interpolation points) come from
# a second stream, seeded `seed + STABILISER_STREAM`, so that they leave G's noise stream alone:
# within a seed, dcgan and noised draw the same noise at every step (common random numbers).
STABILISER_STREAM = 2**30


class GAN(keras.Model):
    """Base class: subclasses define `train_step` and report through `record`."""

    # The curves every variant logs per epoch (step = epoch), in this order; families add theirs.
    metric_names: tuple[str, ...] = SHARED_METRICS
    # Conditional families (AC-GAN) set this: the classes their generator is asked for.
    num_classes: int = 0

    def __init__(self, generator: keras.Model, discriminator: keras.Model, noise_dim: int, seed: int,
                 options: VariantSettings, total_steps: int = 1, **kwargs):
        super().__init__(**kwargs)
        # The variant's settings: every option the base class applies (DiffAugment, R1) reads
        # them here, so a family cannot leave them out.
        self.options = options
        self.generator = generator
        self.averaged_generator = None  # see compile
        self.discriminator = discriminator
        self.noise_dim = noise_dim
        # All randomness inside train steps draws from here, so it is seeded and checkpointed.
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.stabiliser_seeds = keras.random.SeedGenerator(seed + STABILISER_STREAM)
        self.trackers = [keras.metrics.Mean(name=name) for name in self.metric_names]
        # Steps of the whole training, for schedules (noised's decay).
        self.total_steps = total_steps

    def compile(self, d_optimizer: keras.optimizers.Optimizer, g_optimizer: keras.optimizers.Optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        # With a moving average of G's weights (the option `ema`, kept by G's optimizer), a
        # second network holds the average: it samples (grids, FID, the saved generator).
        self.averaged_generator = None
        if g_optimizer.use_ema:
            self.averaged_generator = keras.models.clone_model(self.generator)
            self.averaged_generator.set_weights(self.generator.get_weights())

    @property
    def conditional(self) -> bool:
        """Batches are (images, labels) and grids are per class: a fact of the settings."""
        return self.options.conditional

    @property
    def batches_per_step(self) -> int:
        """Real batches one train_step consumes (a WGAN's critic takes n_critic per G step)."""
        return self.options.batches_per_step

    @property
    def sampler(self) -> keras.Model:
        """The network that makes the samples: the weight average when there is one."""
        return self.generator if self.averaged_generator is None else self.averaged_generator

    def load_average(self) -> None:
        """Copy the optimizer's moving averages of G's weights into the averaged generator (its
        BatchNorm statistics come from calibrate_batchnorm). Nothing without `ema`."""
        if self.averaged_generator is None:
            return
        optimizer = getattr(self.g_optimizer, "inner_optimizer", self.g_optimizer)
        if not optimizer.built:  # no step taken: the average is the initial weights
            self.averaged_generator.set_weights(self.generator.get_weights())
            return
        position = {id(v): i for i, v in enumerate(self.generator.trainable_variables)}
        targets = self.averaged_generator.trainable_variables
        # Keras keeps one average per variable the optimizer updates, in the order it was built with.
        for variable, average in zip(optimizer._trainable_variables, optimizer._model_variables_moving_average):
            targets[position[id(variable)]].assign(average)

    @property
    def metrics(self):
        # Listing the trackers here makes fit() reset them at the start of every epoch.
        return self.trackers

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def sample_noise(self, batch_size):
        return self.replica_rows(lambda n: keras.random.normal((n, self.noise_dim), seed=self.seed_generator),
                                 batch_size)

    @staticmethod
    def replica_rows(draw, batch_size):
        """`draw(n)`'s rows for this replica's share of the batch.

        The seed generator's state is mirrored, so every replica would draw the same numbers:
        each draws the global batch's rows instead and keeps its own slice (replica r gets rows
        r*b..(r+1)*b, as tf.distribute splits the data), which is exactly what one device draws.
        On one device this is `draw(batch_size)`, nothing more."""
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        if replicas == 1:
            return draw(batch_size)
        start = context.replica_id_in_sync_group * batch_size
        return draw(batch_size * replicas)[start:start + batch_size]

    def augment(self, images):
        """DiffAugment (ganlab.augment) of a batch D is about to see, with the variant's policy
        (`diffaugment`); the batch itself without one. Its random draws come from the
        stabilisers' stream, each image its own (sliced per replica like every other draw)."""
        policy = self.options.diffaugment
        if not policy:
            return images
        batch = tf.shape(images)[0]

        def rand(tail, low, high, dtype="float32"):
            uniform = keras.random.randint if dtype == "int32" else keras.random.uniform
            return self.replica_rows(lambda n: uniform((n, *tail), low, high, seed=self.stabiliser_seeds), batch)

        return diff_augment(images, policy, rand)

    def real_scores(self, real):
        """D's outputs on the real batch it sees, and the R1 penalty on them (the option `r1`,
        ganlab.losses.r1_penalty, on the real/fake output); a penalty of 0 without it."""
        weight = self.options.r1
        if not weight:
            return self.discriminator(real, training=True), 0.0
        with tf.GradientTape() as tape:
            tape.watch(real)
            outputs = self.discriminator(real, training=True)
            source = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
        return outputs, r1_penalty(tape.gradient(source, real), weight)

    @staticmethod
    def gradient_loss(loss, optimizer: keras.optimizers.Optimizer):
        """The loss to differentiate (inside the tape): divided by the replicas, whose gradients
        tf.distribute sums, and multiplied by the optimizer's loss scale under float16 (its
        apply_gradients unscales). The loss itself on one device in float32."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            loss = loss / replicas
        return optimizer.scale_loss(loss)

    def gradient_norm(self, grads, optimizer: keras.optimizers.Optimizer):
        """The global norm of a gradient of `gradient_loss`, undone of its replica division and
        loss scale: on one device, the norm of the loss's own gradient."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return tf.linalg.global_norm(grads) * replicas / optimizer.scale_loss(1.0)

    def use_loss_scaling(self) -> None:
        """Dynamic loss scaling for each of the two optimisers (mixed float16)."""
        self.d_optimizer = keras.optimizers.LossScaleOptimizer(self.d_optimizer)
        self.g_optimizer = keras.optimizers.LossScaleOptimizer(self.g_optimizer)

    def record(self, **values) -> dict:
        for tracker in self.trackers:
            tracker.update_state(values[tracker.name])
        results = {tracker.name: tracker.result() for tracker in self.trackers}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras (3.15) reduces a multi-worker step's outputs with a mean along axis 0, which
            # a scalar lacks; the trackers' results are the same on every replica anyway.
            results = {name: tf.reshape(value, (1,)) for name, value in results.items()}
        return results

    def grid_inputs(self, noise: np.ndarray, grid_size: int) -> tuple[np.ndarray, np.ndarray | None, int]:
        """(noise, labels, columns) of the fixed-noise sample grid: grid_size x grid_size draws."""
        return noise[: grid_size * grid_size], None, grid_size

    def generator_inputs(self, noise: np.ndarray, labels: np.ndarray | None = None):
        """What the generator takes for this noise (and labels, for conditional families)."""
        return noise

    def as_generator(self) -> Generator:
        """The sampling network as a trained run's generator is loaded: (noise, labels) -> images."""
        return Generator(self.sampler, self.noise_dim,
                         [str(c) for c in range(self.num_classes)] if self.conditional else None)

    def generate(self, noise: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """Images in [-1, 1] for the given noise (and labels, for conditional families)."""
        return self.as_generator()(noise, labels)

    def calibrate_batchnorm(self, noise: np.ndarray, labels: np.ndarray | None = None) -> None:
        """Precise BatchNorm: set the generator's moving statistics to those of one large fixed
        batch under the current weights.

        Training normalises with batch statistics; the moving averages that inference uses
        (momentum 0.99) lag a generator whose weights change fast, and after a short training
        inference-mode samples can be far off (the study's AC-GAN gave near-black images after
        6 short epochs). Training never reads these statistics, so this changes no training step.
        """
        norms = [layer for layer in self.sampler.layers if isinstance(layer, keras.layers.BatchNormalization)]
        momenta = [layer.momentum for layer in norms]
        try:
            for layer in norms:
                layer.momentum = 0.0  # moving statistic := this batch's statistic
            self.sampler(self.generator_inputs(noise, labels), training=True)
        finally:
            for layer, momentum in zip(norms, momenta):
                layer.momentum = momentum


def discriminator_network(options, network: keras.Model) -> keras.Model:
    """A family's discriminator as its options want it: spectrally normalised with `spectral_norm`."""
    return spectrally_normalised(network) if getattr(options, "spectral_norm", False) else network


def adam_optimizers(options) -> dict[str, keras.optimizers.Optimizer]:
    """The Adam pair a family's settings name, as `compile` takes it: G's with its weight average."""
    return {
        "d_optimizer": keras.optimizers.Adam(options.d_lr, options.beta_1, options.beta_2),
        "g_optimizer": keras.optimizers.Adam(options.g_lr, options.beta_1, options.beta_2,
                                             **options.g_optimizer_averaging),
    }
