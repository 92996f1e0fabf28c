#!/usr/bin/env bash
# The one Slurm launcher: tools/train.py or tools/test.py, one task per GPU
# (GPUS tasks in all, GPUS_PER_NODE a node; CPUS_PER_TASK, SRUN_ARGS).
#   GPUS=8 bash tools/slurm.sh train PARTITION JOB_NAME CONFIG WORK_DIR [args]
#   GPUS=8 bash tools/slurm.sh test PARTITION JOB_NAME CONFIG CHECKPOINT [args]
# tools/slurm_train.sh and tools/slurm_test.sh call it.
set -euo pipefail
# shellcheck source=tools/python_env.sh
. "$(dirname "$0")/python_env.sh"  # HERE, PYTHON, PYTHONPATH
TOOL=${1:-}
if { [ "$TOOL" != train ] && [ "$TOOL" != test ]; } || [ $# -lt 5 ]; then
    echo "usage: $0 train|test PARTITION JOB_NAME CONFIG WORK_DIR|CHECKPOINT [tools/<train|test>.py args]" >&2
    exit 2
fi
PARTITION=$2
JOB_NAME=$3
CONFIG=$4
if [ "$TOOL" = train ]; then
    POSITIONAL=("$CONFIG" --work-dir="$5")
else
    POSITIONAL=("$CONFIG" "$5")
fi
shift 5
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}

srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "$PYTHON" -u "$HERE/$TOOL.py" "${POSITIONAL[@]}" --launcher slurm "$@"
