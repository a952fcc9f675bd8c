#!/usr/bin/env bash
# The GPU run on the lent device machine (python3 with CUDA torch, no gymnasium/mujoco/minari:
# they travel as wheels in .whl/, see the device README): a DMC task online for BUDGET seconds,
# then decisions/s and the learned agent's plan latency (benchmarks/gpu_run.py).
#   OUT=dir [TASK=dm_control/walker-walk-v0] [BUDGET=420] bash benchmarks/gpu_run.sh
set -u
mkdir -p "$OUT"
if ! python3 -c "import gymnasium, mujoco, minari, dm_control" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:.
fi
export MUJOCO_GL=egl PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 benchmarks/gpu_run.py --out "$OUT" --task "${TASK:-dm_control/walker-walk-v0}" \
  --budget "${BUDGET:-420}" 2>&1 | tail -40
rm -rf "$OUT"/run/dataset "$OUT"/run/resume.pt "$OUT"/run/checkpoints
