#!/usr/bin/env bash
# Training on a Slurm cluster, one task per GPU (tools/slurm.sh):
#   GPUS=8 bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [args]
# Global batch (default): the config's N x M batch is split over the tasks and
#   trained as one graph, e.g. the paper's 81 with GPUS=4: 21+21+21+18 images.
# Local batch: --cfg-options model.global_batch=False
#   train_dataloader.batch_sampler=None gives every task its own
#   N x M batch and graph (81 per GPU, 4 graphs, gradients averaged).
exec bash "$(dirname "$0")/slurm.sh" train "$@"
