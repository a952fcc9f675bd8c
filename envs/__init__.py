"""Environments: `make_env`, task conventions, the true-simulator oracle, recording."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")

from envs.conventions import TaskConvention, convention_for, known_env_ids
from envs.errors import UserError
from envs.make import make_env, make_vector_env, parse_env_kwargs

__all__ = [
    "TaskConvention",
    "UserError",
    "convention_for",
    "known_env_ids",
    "make_env",
    "make_vector_env",
    "parse_env_kwargs",
]
