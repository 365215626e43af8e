# Two commands do all set-up on a fresh clone: `make run` and `make test`.
# Each creates the virtual environment if it is missing.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ALBENCH := $(VENV)/bin/albench
# torch and torchvision for the `deep` extra (the tests install it so the torch paths run)
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
# libact for its adapter's tests: no extra can hold it (its release pins scikit-learn<=0.19.2), so it is
# built without its dependencies and without the two C extensions the adapter does not use
LIBACT_SPEC ?= libact==0.1.6
LIBACT_BUILD := LIBACT_BUILD_HINTSVM=0 LIBACT_BUILD_VARIANCE_REDUCTION=0

GRID ?= grids/quick.yaml
RESULTS ?= results/quick
WORKERS ?= 2
SCHEDULER ?=
SQL ?= SELECT strategy, count(*) AS runs, avg(auc_accuracy) AS auc FROM runs GROUP BY 1 ORDER BY 3 DESC
NAME ?=
METRIC ?=
OUT ?=
STRATEGY_DIR ?= strategies
TEST_DIR ?= tests
# pytest-xdist processes for `make test`, whole test files each (module fixtures are built once); 0 runs in this process
TEST_WORKERS ?= auto

.PHONY: help install run grid test bench analyze report query new-strategy docs clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.core: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.core
	$(PY) -m pip install -q -e '.[dev,deep]' $(TORCH_SPEC)
	$(PY) -m pip install -q cython six
	$(LIBACT_BUILD) $(PY) -m pip install -q --no-deps --no-build-isolation $(LIBACT_SPEC)
	touch $@

install: $(VENV)/.core  ## create the environment and install albench

run: $(VENV)/.core  ## run the embedded default grid (grids/quick.yaml) on a local cluster of WORKERS=2 (0: in-process), then write its report
	$(ALBENCH) grid run grids/quick.yaml --workers $(WORKERS)
	$(ALBENCH) report results/quick

grid: $(VENV)/.core  ## run GRID= on a local cluster of WORKERS= processes (0: in-process), or on SCHEDULER=tcp://host:port
	$(ALBENCH) grid run $(GRID) $(if $(SCHEDULER),--scheduler $(SCHEDULER),--workers $(WORKERS))

analyze: $(VENV)/.core  ## leaderboard (Friedman, Nemenyi), hyperparameter influence and minimal study design of RESULTS= (METRIC=)
	$(ALBENCH) analyze $(RESULTS) $(if $(METRIC),--metric $(METRIC))

report: $(VENV)/.core  ## write RESULTS=/report/report.html with its figures (METRIC=)
	$(ALBENCH) report $(RESULTS) $(if $(METRIC),--metric $(METRIC))

query: $(VENV)/.core  ## run SQL= over the tables runs and curves of RESULTS= (OUT=rows.csv or .parquet writes a file)
	$(ALBENCH) query $(RESULTS) "$(SQL)" $(if $(OUT),--out $(OUT))

bench: $(VENV)/.dev  ## run benchmarks/ and merge the figures into benchmarks/results.json (BENCH_ARGS=--quick)
	$(PY) -m benchmarks $(BENCH_ARGS)

test: $(VENV)/.dev  ## run the whole test suite (installs headless Chromium with apt when missing, for the report's browser test)
	command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

$(VENV)/.docs: $(VENV)/.core
	$(PY) -m pip install -q -e '.[docs]'
	touch $@

docs: $(VENV)/.docs  ## build the API reference from the docstrings into docs/api/ (tutorial: docs/tutorial.md)
	$(PY) -m pdoc albench --docformat markdown -o docs/api
	@echo "API reference: docs/api/index.html"

new-strategy: $(VENV)/.core  ## write strategies/NAME.py and tests/test_strategy_NAME.py from the template
	@test -n "$(NAME)" || { echo "usage: make new-strategy NAME=my_strategy"; exit 2; }
	$(ALBENCH) new-strategy $(NAME) --dir $(STRATEGY_DIR) --tests $(TEST_DIR)

clean:  ## remove the environment and caches (results are kept)
	rm -rf $(VENV) .pytest_cache *.egg-info
