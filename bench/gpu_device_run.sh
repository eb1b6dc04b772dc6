#!/usr/bin/env bash
# The prepared measurement for a lent GPU (issue #17), one call that builds nothing: albench's WebGPU path with
# tfjs-webgpu's stock kernels and with albench's (per step and per convolution call), PyTorch on the same card with and without TF32, a
# kernel-by-kernel profile of a DenseNet121 step under each kernel set, and the golden wasm repro on the host
# CPU. Every result goes to $OUT (the device tool brings it back); a step that fails is logged and the rest
# still run. Usage on the device: `OUT=$OUT bash bench/gpu_device_run.sh` (SIZE, STEPS, BATCH and DENO
# override 224, 10, 32 and `deno`; e.g. SIZE=32 STEPS=1 to try it on lavapipe). It needs deno and the npm
# modules there: node_modules is 414 MB and the deno binary 96 MB here, over the device tool's 64 MiB carry, so
# check first what the device has (`which deno`, `deno --version`); the earlier H100 measurement ran
# `deno bundle`d single files instead. Tried here on lavapipe with SIZE=32 STEPS=1 BATCH=4: every deno step ran.
set -u
OUT=${OUT:-reports/gpu-run}
DENO=${DENO:-deno}
SIZE=${SIZE:-224}
STEPS=${STEPS:-10}
BATCH=${BATCH:-32}
mkdir -p "$OUT"
log() { echo "$(date -u +%H:%M:%S) $*" | tee -a "$OUT/log.txt"; }
run() { # name, timeout seconds, command...
  local name=$1 limit=$2
  shift 2
  log "start $name"
  if timeout "$limit" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; then log "done $name"; else log "FAILED $name (exit $?)"; fi
}
(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; lscpu) >"$OUT/machine.txt" 2>&1
for k in stock albench; do
  run "densenet-$k" 300 "$DENO" run -A bench/gpu_densenet.ts --steps "$STEPS" --size "$SIZE" --kernels "$k"
done
# Per call, stock against albench, for each convolution kernel: on a GPU the register-blocked forward and
# input-gradient kernels may lose to tfjs-webgpu's tiled ones (docs/backends.md says why).
run kernels-per-call 200 "$DENO" run -A bench/webgpu_kernels_bench.ts 5
run torch-tf32 200 python3 bench/gpu_densenet_torch.py "$STEPS"
run torch-no-tf32 200 python3 bench/gpu_densenet_torch.py "$STEPS" --no-tf32
for k in stock albench; do
  run "profile-$k" 300 "$DENO" task profile --backend webgpu --model densenet121 --px "$SIZE" --batch "$BATCH" \
    --steps 2 --kernels "$k"
done
# The same seed twice on this card: equal result digests (issue #17.4).
run webgpu-digest 300 "$DENO" test -A tests/e2e/webgpu_digest_test.ts
run repro-host-cpu 300 "$DENO" task repro
log "all steps ran"
