"""Suite-wide settings: one torch thread, here and in the commands tests start (several are many
times slower on a shared 2-core CPU), and no torch.compile (`WMPC_COMPILE=0`: the suite's many
tiny models would spend longer compiling than running; tests/test_compile.py switches it back on
where it is the subject)."""

import os

import torch

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ["WMPC_COMPILE"] = "0"
os.environ.setdefault("WMPC_TORCH_THREADS", "1")  # also for the CLIs tests start
torch.set_num_threads(1)
