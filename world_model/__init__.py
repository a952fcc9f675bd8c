"""The JEPA latent world model: encoder, ensemble predictor, heads, training and checkpoints.

This package imports torch and numpy only; datasets (Minari) are read lazily in `world_model.data`.
"""

from world_model.checkpoint import load_world_model
from world_model.config import ModelConfig
from world_model.model import WorldModel

__all__ = ["ModelConfig", "WorldModel", "load_world_model"]
