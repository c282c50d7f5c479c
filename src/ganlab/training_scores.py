"""The cheap scores a run logs after its epochs (`fid`, `recognisable`, `class_entropy`,
`class_accuracy`): the curves that show its progress, and what the health check reads."""

from __future__ import annotations

import numpy as np

from ganlab.config import RunSettings
from ganlab.trained_run import classes_in_turn, run_name
from ganlab.data import Dataset, to_unit_range
from ganlab.gans.base import GAN
from ganlab.judge import Judge
from ganlab.metrics import class_shares, frechet_distance, label_accuracy, recognisable, share_entropy
from ganlab.streams import stream
from ganlab.watch import TrainingDiverged


class TrainingScores:
    """Cheap scores during training, on judge features and probabilities of fixed noise's
    samples (the same every epoch, so the curves show progress): FID against a fixed subset of
    the training images, the `recognisable` share, the entropy of the class shares (mode
    coverage) and, for a conditional generator, the share in the class asked for."""

    def __init__(self, judge: Judge, data: Dataset, settings: RunSettings):
        count = min(settings.fid_samples, len(data.y_train))
        pick = stream("training_fid_pick", settings.seed).choice(len(data.y_train), count, replace=False)
        self.judge, self.run = judge, run_name(settings.variant, settings.seed)
        self.num_classes = data.num_classes
        self.real_feats, _ = judge(to_unit_range(data.x_train[pick]))
        self.noise = stream("training_fid_noise", settings.seed).standard_normal((count, settings.noise_dim))
        self.noise = self.noise.astype(np.float32)
        self.labels = classes_in_turn(count, data.num_classes)

    @staticmethod
    def keys(conditional: bool) -> tuple[str, ...]:
        """The history columns it fills, in order."""
        return ("fid", "recognisable", "class_entropy", *(("class_accuracy",) if conditional else ()))

    def __call__(self, gan: GAN) -> dict[str, float]:
        labels = self.labels if gan.conditional else None
        images = gan.generate(self.noise, labels)
        if not np.isfinite(images).all():  # finite losses, NaN images: nothing to score
            raise TrainingDiverged(f"{self.run}: the generator makes NaN or infinite images although its losses "
                                   "are finite: its training diverged; lower the learning rate in params.yaml")
        feats, probs = self.judge(images)
        predicted = probs.argmax(axis=1)
        scores = {"fid": frechet_distance(self.real_feats, feats), "recognisable": recognisable(probs),
                  "class_entropy": share_entropy(class_shares(predicted, self.num_classes))}
        if labels is not None:
            scores["class_accuracy"] = label_accuracy(labels, predicted)
        return scores
