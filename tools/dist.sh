#!/usr/bin/env bash
# The one torchrun launcher: tools/train.py or tools/test.py on GPUS
# processes of this node (multi-node: set NNODES, NODE_RANK, MASTER_ADDR and
# PORT on every node).
#   bash tools/dist.sh train GPUS CONFIG [tools/train.py args]
#   bash tools/dist.sh test GPUS CONFIG CHECKPOINT [tools/test.py args]
# tools/dist_train.sh and tools/dist_test.sh call it in their argument order.
set -euo pipefail
# shellcheck source=tools/python_env.sh
. "$(dirname "$0")/python_env.sh"  # HERE, PYTHON, PYTHONPATH
TOOL=${1:-}
case "$TOOL" in
    train) NPOS=1 ;;  # CONFIG
    test) NPOS=2 ;;  # CONFIG CHECKPOINT
    *) NPOS=-1 ;;
esac
if [ "$NPOS" -lt 0 ] || [ $# -lt $((2 + NPOS)) ]; then
    echo "usage: $0 train|test GPUS CONFIG [CHECKPOINT] [tools/<train|test>.py args]" >&2
    exit 2
fi
GPUS=$2
shift 2
POSITIONAL=("${@:1:$NPOS}")
shift "$NPOS"
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$HERE/$TOOL.py" "${POSITIONAL[@]}" --launcher pytorch "$@"
