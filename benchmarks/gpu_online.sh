#!/usr/bin/env bash
# The online loop (`wmpc run`, `wmpc eval`) on a CUDA machine against the same machine's CPU:
# does it run, and how many decisions per second. For the lent device machine, whose python3 has
# CUDA torch but no gymnasium/mujoco/minari: they travel as wheels in .whl/ (device README).
#   OUT=dir [STEPS=3000] bash benchmarks/gpu_online.sh
set -u
STEPS=${STEPS:-3000}
if ! python3 -c "import gymnasium, mujoco, minari" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:.
fi
export MUJOCO_GL=egl PYTHONUNBUFFERED=1
wmpc() { python3 -c "from agent.cli import main; main()" "$@"; }
nvidia-smi --query-gpu=name --format=csv,noheader | tee "$OUT/gpu.txt"
for device in cuda cpu; do
  timeout 240 wmpc run --env InvertedPendulum-v5 --steps "$STEPS" --eval-every "$STEPS" \
    --device "$device" --out "$OUT/ip_$device" --no-progress 2>&1 | tail -3 | tee "$OUT/run_$device.log"
done
timeout 120 wmpc run --env InvertedPendulum-v5 --steps $((STEPS / 2)) --eval-every $((STEPS / 2)) \
  --device cuda --prior-samples 8 --out "$OUT/ip_cuda_prior" --no-progress 2>&1 | tail -3 \
  | tee "$OUT/run_cuda_prior.log"
timeout 60 wmpc eval --run "$OUT/ip_cuda" --env InvertedPendulum-v5 --device cuda --episodes 3 \
  --json "$OUT/eval_cuda.json" 2>&1 | tail -3
rm -rf "$OUT"/ip_*/dataset "$OUT"/ip_*/resume.pt
