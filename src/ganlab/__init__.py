"""ganlab: a reproducible GAN lab (DVC pipeline, Keras trainers, MLflow tracking)."""

__version__ = "0.1.0"
