#!/usr/bin/env bash
# The GPU targets of issue 13 in one prepared run that fits 15 minutes of device time
# (machine start included): run it from the repository root on a machine with a CUDA GPU.
#
#   1. speed, side by side, same frames, same run: ours fp32 and bf16 against the official
#      InferenceCore (fp32) at 480p, 1,000 frames (target: >= 1.5x, fp32);
#   2. memory over 10,000 frames at 480p, ours only (official settings; long-term memory full
#      from frame ~2,000): peak torch.cuda.max_memory_allocated (target: < 1.4 GB).
#
# Needs: a checkout of hkchengrex/XMem at .benchmarks/XMem and the golden weights at
# .benchmarks/weights.pth.xz (both git-ignored; carried to the device machine):
#   mkdir -p .benchmarks && git --git-dir=/work/.mirror/hkchengrex+XMem/repo archive HEAD | \
#       (mkdir -p .benchmarks/XMem && tar -x -C .benchmarks/XMem)
#   cp ../shared/golden/xmem-judo/weights.pth.xz .benchmarks/
# then, with the device tool:  run(command="bash benchmarks/gpu_check.sh",
#   carry=[".benchmarks"], timeout_s=600)
# Results land in $OUT (the device tool brings them back) or benchmarks/results.
set -euo pipefail
OUT_DIR=${OUT:-benchmarks/results}
mkdir -p "$OUT_DIR"
WEIGHTS=${WEIGHTS:-.benchmarks/weights.pth.xz}
OFFICIAL=${OFFICIAL:-.benchmarks/XMem}
export PYTHONPATH=$PWD
python3 - <<'PY'
import torch
assert torch.cuda.is_available(), "no CUDA GPU visible"
print("torch", torch.__version__, "GPU", torch.cuda.get_device_name(0), flush=True)
PY
# 1. speed (about 3-4 minutes on an A100/H100-class GPU)
timeout 280 python3 benchmarks/long_video.py --device cuda --frames 1000 --size 480 \
    --configs full,full-bf16,official --official "$OFFICIAL" --weights "$WEIGHTS" \
    --warmup 20 --window 500 --ref-frame 500 --log-every 250 --no-plot \
    --out "$OUT_DIR/cuda_480p_1000" || echo "speed run stopped (exit $?): partial per-frame CSV kept"
# 2. memory over 10,000 frames (about 4-5 minutes)
timeout 300 python3 benchmarks/long_video.py --device cuda --frames 10000 --size 480 \
    --configs full --weights "$WEIGHTS" --warmup 20 --window 2000 --ref-frame 2000 --log-every 1000 \
    --no-plot --out "$OUT_DIR/cuda_10k_480" || echo "memory run stopped (exit $?): partial per-frame CSV kept"
python3 - "$OUT_DIR" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
for name in ("cuda_480p_1000", "cuda_10k_480"):
    f = out / f"{name}.json"
    if not f.exists():
        print(name, "no summary"); continue
    s = json.loads(f.read_text())
    for cfg, c in s["configs"].items():
        print(name, cfg, "frames", c.get("frames_run"), "median ms", round(c.get("median_ms", 0), 1),
              "GPU peak MiB", round(c.get("gpu_peak_mb_final", float("nan")), 1))
    for k, r in s["ratios"].items():
        print(name, k, "speed-up", round(r["speedup_total_time"], 2))
PY
