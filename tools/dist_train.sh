#!/usr/bin/env bash
# Multi-GPU (or multi-node) training with torchrun (tools/dist.sh):
#   bash tools/dist_train.sh CONFIG GPUS [train.py args]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# Global batch (default): the config's N x M batch is split over the GPUs and
#   trained as one graph, e.g. the paper's 81 on 4 GPUs = 21+21+21+18 images.
# Local batch: --cfg-options model.global_batch=False
#   train_dataloader.batch_sampler=None gives every GPU its own
#   N x M batch and graph (81 per GPU, 4 graphs, gradients averaged).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [tools/train.py args]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/dist.sh" train "$2" "$1" "${@:3}"
