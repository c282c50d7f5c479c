"""The NumPy random streams outside the train steps, each named and seeded on its own.

A stream is `default_rng([seed, number, *more])`: independent of every other stream, and the
same on every rerun. Numbers are part of the results (changing one changes the draws), so a
stream keeps its number; a new one takes the next. (The draws inside train steps come from each
GAN's keras SeedGenerator, which checkpoints carry.)
"""

from __future__ import annotations

import numpy as np

STREAMS = {
    "grid_noise": 1,  # the fixed noise of every epoch's sample grid (training seed)
    "epoch_order": 2,  # the order an epoch visits the training images (training seed, epoch)
    "evaluation_pick": 3,  # the real images the scores compare with, then the references' draws (seed)
    "evaluation_noise": 4,  # the noise every generator is scored on (seed)
    "training_fid_pick": 5,  # the real images of the per-epoch FID (training seed)
    "training_fid_noise": 6,  # the noise of the per-epoch FID (training seed)
    "calibration_noise": 7,  # the batch BatchNorm statistics are calibrated on (training seed)
}


def stream(name: str, seed: int, *more: int) -> np.random.Generator:
    """The generator of one named stream for a seed (and, e.g., an epoch)."""
    return np.random.default_rng([seed, STREAMS[name], *more])
