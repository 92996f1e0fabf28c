# `make demo` and `make test` do all set-up themselves: they create the
# virtualenv $(VENV) on first use, install the pinned stack into it (torch
# and torchvision come from the machine's wheel cache when it has one) and
# re-install only when a requirements file changes.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.gcahng-installed
DEMO_CONFIG ?= configs/gcahng/r18_pa_synthetic.py
DEMO_DIR ?= work_dirs/demo
PYTEST_ARGS ?=

.PHONY: install demo demo-baseline test lint format clean

$(STAMP): requirements/runtime.txt requirements/tests.txt setup.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements/runtime.txt -r requirements/tests.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CONFIG) "$$(cat $(DEMO_DIR)/last_checkpoint)" \
		--work-dir $(DEMO_DIR) --out $(DEMO_DIR)/test_metrics.json

demo-baseline:
	$(MAKE) demo DEMO_CONFIG=configs/baselines/r18_pa_synthetic.py \
		DEMO_DIR=work_dirs/demo_baseline

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

lint: install
	$(VENV)/bin/flake8 gcahng tools tests configs benchmarks setup.py
	$(VENV)/bin/isort --check-only --diff gcahng tools tests benchmarks
	$(VENV)/bin/yapf --diff --recursive gcahng tools tests configs benchmarks

format: install
	$(VENV)/bin/isort gcahng tools tests benchmarks
	$(VENV)/bin/yapf -i --recursive gcahng tools tests configs benchmarks

clean:
	rm -rf work_dirs build *.egg-info
