#!/usr/bin/env bash
# Evaluation on a Slurm cluster, one task per GPU (tools/slurm.sh):
#   GPUS=8 bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [args]
exec bash "$(dirname "$0")/slurm.sh" test "$@"
