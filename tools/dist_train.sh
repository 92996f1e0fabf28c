#!/usr/bin/env bash
# Multi-GPU (or multi-node) training with torchrun:
#   bash tools/dist_train.sh CONFIG GPUS [train.py args]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# Global batch (default): the config's N x M batch is split over the GPUs and
#   trained as one graph, e.g. the paper's 81 on 4 GPUs = 21+21+21+18 images.
# Local batch: --cfg-options model.global_batch=False gives every GPU its own
#   N x M batch and graph (81 per GPU, 4 graphs, gradients averaged).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [tools/train.py args]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
HERE=$(cd "$(dirname "$0")" && pwd)
# the project's virtualenv (made by `make`) when there is one, else python
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python
    [ -x "$HERE/../.venv/bin/python" ] && PYTHON="$HERE/../.venv/bin/python"
fi

PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$HERE/train.py" "$CONFIG" --launcher pytorch "$@"
