#!/usr/bin/env bash
# m2f test over a COCO validation set as a Slurm job array: one array task per shard. Slurm sets
# SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_MIN / SLURM_ARRAY_TASK_COUNT, which m2f reads as the
# shard index and count; every task writes $OUT/shard-I-of-N. Submit, then merge once all are done:
#   jobid=$(sbatch --parsable deploy/slurm/m2f-test-array.sh)
#   sbatch --dependency=afterok:$jobid --wrap "m2f merge --out $OUT/merged $OUT/shard-*"
# A failed task can be resubmitted alone (sbatch --array=3 ...): it replaces only its own folder.
#SBATCH --job-name=m2f-test
#SBATCH --array=0-7
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=02:00:00
#SBATCH --output=m2f-test-%A_%a.log
set -euo pipefail
MODEL=${MODEL:-$HOME/models/mask2former.onnx}
DATA=${DATA:-$HOME/data/coco}
OUT=${OUT:-$HOME/results/m2f-test}
m2f test --model "$MODEL" --data "$DATA" --eval pq bbox segm --threads "$SLURM_CPUS_PER_TASK" --out "$OUT"
