#!/usr/bin/env bash
# Every GPU check in one go (device machine: python3 with CUDA torch, no gymnasium/mujoco).
#   OUT=dir bash benchmarks/gpu_all.sh
# Then copy OUT's planners_gpu.csv and agent_gpu.csv into benchmarks/results/planners/ and run
# `wmpc bench planners --report-only` to rewrite that suite's README.md.
set -u
export PYTHONPATH=.
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__)" | tee -a "$OUT/gpu.txt"
timeout 240 python3 benchmarks/gpu_planners.py --out "$OUT" 2>&1 | tee "$OUT/planners.log"
timeout 150 python3 benchmarks/gpu_agent.py --out "$OUT" 2>&1 | tee "$OUT/agent.log"
