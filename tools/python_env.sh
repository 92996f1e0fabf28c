# Sourced by the launchers (tools/dist.sh, tools/slurm.sh): HERE, this
# folder, and PYTHON, the project's virtualenv (made by `make`) when there
# is one, else python ($PYTHON when set); PYTHONPATH starts with the
# checkout, so that the tools import this gcahng.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python
    if [ -x "$HERE/../.venv/bin/python" ]; then
        PYTHON="$HERE/../.venv/bin/python"
    fi
fi
export PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}"
