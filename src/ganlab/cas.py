"""Classification Accuracy Score (Ravuri and Vinyals 2019, "Classification Accuracy Score for
Conditional Generative Models"): the judge's architecture trained on a conditional generator's
samples with the labels they were asked for, then tested on the real test images.

The judge's class accuracy alone cannot tell "makes classes the judge likes" from "makes data a
classifier can learn from": a generator that draws one perfect image per class scores 1.0 there
and near chance here. Its reference is the same classifier, trained the same way on as many real
training images (the evaluation's real draw): CAS at that reference means the samples teach the
classes as well as real data does.
"""

from __future__ import annotations

import keras
import numpy as np

from ganlab.judge import build_judge


def classification_accuracy(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                            num_classes: int, epochs: int, batch_size: int, seed: int) -> float:
    """Accuracy on (x_test, y_test) of the judge's architecture trained on (x_train, y_train):
    images in [-1, 1], trained as the judge is (its epochs and batch), seeded."""
    keras.utils.set_random_seed(seed)
    model = build_judge(x_train.shape[1], x_train.shape[3], num_classes)
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, batch_size=512, verbose=0)
    return float(accuracy)
