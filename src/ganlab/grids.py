"""Sample grids: a batch of images in [-1, 1] -> one uint8 picture."""

from __future__ import annotations

import numpy as np


def image_grid(images: np.ndarray, columns: int, pad: int = 2, scale: int = 2) -> np.ndarray:
    """(N, H, W, C) in [-1, 1] -> (rows*(H+pad)+pad, ...) uint8, row-major, white gaps.

    scale repeats pixels so 32x32 samples stay visible in the MLflow UI and in reports.
    """
    n, h, w, c = images.shape
    rows = -(-n // columns)
    pixels = np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
    grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, c), 255, np.uint8)
    for i, img in enumerate(pixels):
        r, col = divmod(i, columns)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top:top + h, left:left + w] = img
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    return grid[..., 0] if c == 1 else grid
