"""The judge: a small LeNet-like classifier trained on the prepared data, whose feature layer
and class probabilities every sample-quality metric is computed on.

Inception weights cannot be downloaded here, and an ImageNet network is a poor judge of 32x32
greyscale clothes anyway; a classifier of our own data, the same for every variant, makes the
metrics comparable within one data set. Its features are taken BEFORE the ReLU: after it, dead
units make the covariances singular.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import keras
import numpy as np
from keras import layers

from ganlab.atomic import write_json
from ganlab.data import Dataset, to_unit_range
from ganlab.model_files import save_model

FEATURE_LAYER = "features"


def build_judge(image_size: int, channels: int, num_classes: int, feature_dim: int = 128) -> keras.Model:
    inputs = keras.Input((image_size, image_size, channels))
    x = layers.Conv2D(32, 5, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 5, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    features = layers.Dense(feature_dim, name=FEATURE_LAYER)(x)
    x = layers.ReLU()(features)
    x = layers.Dropout(0.3)(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    model = keras.Model(inputs, logits, name="judge")
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def train_judge(data: Dataset, epochs: int, batch_size: int, seed: int) -> tuple[keras.Model, float]:
    """Train on the train split; returns the model and its accuracy on the test split."""
    keras.utils.set_random_seed(seed)
    model = build_judge(data.x_train.shape[1], data.x_train.shape[3], data.num_classes)
    model.fit(to_unit_range(data.x_train), data.y_train, epochs=epochs, batch_size=batch_size,
              shuffle=True, verbose=2)
    _, accuracy = model.evaluate(to_unit_range(data.x_test), data.y_test, batch_size=512, verbose=0)
    return model, float(accuracy)


class Judge:
    """A trained judge as the metrics use it: images in [-1, 1] -> (features, probabilities)."""

    def __init__(self, model: keras.Model):
        self.model = model
        self.extractor = keras.Model(model.input, [model.get_layer(FEATURE_LAYER).output, model.output])

    @classmethod
    def load(cls, path: Path) -> Judge:
        return cls(keras.models.load_model(path))

    def __call__(self, images: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
        feats, logits = [], []
        for start in range(0, len(images), batch_size):
            f, z = self.extractor(images[start:start + batch_size], training=False)
            feats.append(keras.ops.convert_to_numpy(f))
            logits.append(keras.ops.convert_to_numpy(z))
        logits = np.concatenate(logits).astype(np.float64)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        return np.concatenate(feats), probs / probs.sum(axis=1, keepdims=True)


def save_judge(model: keras.Model, accuracy: float, class_names: list[str], path: Path, facts_path: Path) -> dict:
    """The model (byte-identical for identical weights: no needless reruns downstream) and its facts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, path)  # byte-identical for identical weights: no needless reruns downstream
    facts = {
        "test_accuracy": accuracy,
        "feature_layer": FEATURE_LAYER,
        "feature_dim": int(model.get_layer(FEATURE_LAYER).units),
        "class_names": class_names,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    write_json(facts_path, facts)
    return facts
