# Two commands: `make demo` and `make test` (lint, then the tests). Each builds .venv on its own.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JOBS ?= 2

# Local datasets live beside the repository on our machines.
ifeq ($(origin JAXML_DATA_DIR), undefined)
  ifneq ($(wildcard ../shared/data),)
    export JAXML_DATA_DIR := $(abspath ../shared/data)
  endif
endif

.PHONY: demo test test-slow lint venv bench bench-peers catalog data clean

venv: $(STAMP)

# Re-installs only when pyproject.toml or constraints.txt changes (idempotent, quick otherwise).
# pyproject.toml declares version ranges; constraints.txt pins the exact versions the tests ran with.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

# The demo's data first: downloaded and verified when missing; with JAXML_OFFLINE=1, one message.
demo: $(STAMP)
	@$(PY) -m jaxml.data download fashion_mnist
	$(PY) -m experiments.fashion_mnist_mlp --config=experiments/fashion_mnist_mlp.py:demo

# Tests never download (they serve their own files from 127.0.0.1). `make test` skips the tests marked
# slow (they start processes: fault injection, 2-process jobs; or run a benchmark end to end);
# `make test-slow` runs only those, and CI (.ci/run) runs both.
test: export JAXML_OFFLINE := 1
test: $(STAMP) lint
	$(PY) -m pytest -q -n $(JOBS) --dist worksteal --durations=40 -m "not slow"

test-slow: export JAXML_OFFLINE := 1
test-slow: $(STAMP)
	$(PY) -m pytest -q -n $(JOBS) --dist worksteal --durations=10 -m slow

lint: $(STAMP)
	$(PY) -m ruff check .

catalog: $(STAMP)
	$(PY) -m jaxml.data

# Download datasets up front into $JAXML_DATA_DIR (make data DATASETS="mnist cifar10"; default all).
DATASETS ?= all
data: $(STAMP)
	$(PY) -m jaxml.data download $(DATASETS)

# Every benchmark in one invocation, then bench/results/summary.{md,json} (bench/all.py; bench/README.md).
# make bench QUICK=1: a smoke pass, results in bench/results/quick/ (198 s cold, 85 s with its compilation cache warm).
# The rejax peer of bench/rl.py needs its own venv (make bench-peers); without it rl.py skips it with a note.
QUICK ?=
bench: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(PY) -m bench.all $(if $(QUICK),--quick,)

# rejax's DQN for bench/rl.py, in its own venv (it needs gymnax 0.0.9; the project has gymnax 1.0).
REJAX_VENV := bench/.venv-rejax
bench-peers: $(REJAX_VENV)/.installed
$(REJAX_VENV)/.installed: bench/peers/requirements-rejax.txt
	@test -x $(REJAX_VENV)/bin/python || $(PYTHON) -m venv $(REJAX_VENV)
	$(REJAX_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(REJAX_VENV)/bin/python -m pip install --quiet -r bench/peers/requirements-rejax.txt
	@touch $@

clean:
	rm -rf $(VENV) runs .pytest_cache
