# Two commands do all set-up on a fresh clone: `make run` and `make test`.
# Each creates the virtual environment if it is missing.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ALBENCH := $(VENV)/bin/albench
# torch and torchvision for the `deep` extra (the tests install it so the torch paths run)
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

GRID ?= grids/quick.yaml
RESULTS ?= results/quick
WORKERS ?= 2
SCHEDULER ?=
SQL ?= SELECT strategy, count(*) AS runs, avg(auc_accuracy) AS auc FROM runs GROUP BY 1 ORDER BY 3 DESC
NAME ?=

.PHONY: help install run grid test bench analyze report query new-strategy clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.core: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.core
	$(PY) -m pip install -q -e '.[dev,deep]' $(TORCH_SPEC)
	touch $@

install: $(VENV)/.core  ## create the environment and install albench

run: $(VENV)/.core  ## run the embedded default grid (grids/quick.yaml)
	$(ALBENCH) grid run grids/quick.yaml

grid: $(VENV)/.core  ## run GRID= (WORKERS=, SCHEDULER=)
	$(ALBENCH) grid run $(GRID)

test: $(VENV)/.dev  ## run the whole test suite
	$(PY) -m pytest -q

clean:  ## remove the environment and caches (results are kept)
	rm -rf $(VENV) .pytest_cache *.egg-info
