#!/usr/bin/env bash
# Multi-GPU evaluation with torchrun (tools/dist.sh):
#   bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [tools/test.py args]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/dist.sh" test "$3" "$1" "$2" "${@:4}"
