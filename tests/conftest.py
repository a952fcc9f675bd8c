"""Suite-wide settings: one torch thread (several are many times slower on a shared 2-core CPU)."""

import os

import torch

os.environ.setdefault("MUJOCO_GL", "egl")
torch.set_num_threads(1)
