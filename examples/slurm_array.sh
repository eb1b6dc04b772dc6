#!/usr/bin/env bash
# Run a scenario as a Slurm job array: each array task runs one shard of the cells.
# albench reads SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT and SLURM_ARRAY_TASK_MIN itself, so no --shard flag is
# needed. All tasks share the results folder and the pre-training cache on a shared filesystem; the first task to
# need a pre-trained backbone trains it, the others reuse it (or train the same one in parallel and keep either
# copy: both are identical).
#
#   sbatch --array=0-7 examples/slurm_array.sh scenarios/paper/paper.json /shared/albench/paper
#   # when all tasks are done:
#   deno task report /shared/albench/paper
#
#SBATCH --job-name=albench
#SBATCH --cpus-per-task=4
#SBATCH --gres=gpu:1
#SBATCH --time=24:00:00
#SBATCH --output=albench-%A_%a.log
set -euo pipefail
scenario=${1:?scenario file}
out=${2:?results folder on a shared filesystem}
cd "${SLURM_SUBMIT_DIR:-.}"
# One worker thread per task: Slurm provides the parallelism. The task grants the run what its flags name (the
# scenario, its dataset, --out and --cache), wherever they are. The cache defaults to the clone's .cache; set
# ALBENCH_CACHE to a folder on the shared filesystem so the tasks share pre-trained backbones. --backend
# tensorflow-gpu needs @tensorflow/tfjs-node-gpu installed (see README, "Running on a GPU").
deno task --quiet bench --scenario "$scenario" --out "$out" --cache "${ALBENCH_CACHE:-.cache}" --jobs 1 \
  --backend "${ALBENCH_BACKEND:-auto}"
