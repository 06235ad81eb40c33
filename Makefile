# hybrid-bench. `make bench` and `make test` work on a fresh clone: every target depends on setup.
PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
DATASET   ?=
BUDGET    ?=
DATA_ROOT ?=
DEVICE    ?= cpu
EDITION   ?=
OFFLINE   ?=
CONFIG    ?= bench/sweeps/smoke.yaml
EXECUTOR  ?= local
SWEEP_DIR ?= results/sweeps/smoke
TEST_WORKERS ?= 2

.PHONY: setup test bench study sweep report perf perf-compare gpu-check gpu-wheels weights lint slurm-up slurm-down clean

setup: $(STAMP)
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

bench: setup
	$(BIN)/python -m bench bench $(if $(BUDGET),--budget $(BUDGET)) $(if $(DATASET),--dataset $(DATASET)) $(if $(DATA_ROOT),--data-root $(DATA_ROOT)) --device $(DEVICE) $(if $(filter 1,$(OFFLINE)),--offline)

study: setup
	$(BIN)/python -m bench study $(if $(EDITION),--edition $(EDITION)) --device $(DEVICE) $(if $(filter 1,$(REPORT_ONLY)),--report-only)

sweep: setup
	$(BIN)/python -m bench sweep $(CONFIG) --executor $(EXECUTOR)

report: setup
	$(BIN)/python -m bench report $(SWEEP_DIR)

# CPU measurements (< 15 min on 2 cores): pytest-benchmark (train steps, eval battery, trainer overhead), then
# PERFORMANCE.md from results/perf/*.json. Not part of `make test`. `make perf-compare`: the side-by-side
# evaluation comparison against the separate libraries, cold and warm (~15 min on 2 cores: scipy's 2048-d sqrtm dominates).
perf: setup
	$(BIN)/python -m pytest benchmarks -q --benchmark-json=results/perf/benchmarks-cpu.json
	$(BIN)/python -m bench perf report

perf-compare: setup
	$(BIN)/python -m benchmarks.compare_eval --n 10
	$(BIN)/python -m bench perf report

# The prepared GPU check (issue: every model and metric on CUDA, measured sweep costs; <= 6 min on one GPU):
# JSON per part in results/perf/ and PERFORMANCE.md regenerated. `make gpu-wheels` (where PyPI is reachable) fills
# .gpu-wheels/, which the check installs with --no-deps --no-index on a GPU machine without network. The GPU machine
# brings its own torch, so this target does not depend on setup. CPU smoke run: python -m benchmarks.gpu_check --device cpu --tiny
GPU_CHECK_OUT ?=
gpu-check:
	$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PY)) -m benchmarks.gpu_check $(if $(GPU_CHECK_OUT),--out $(GPU_CHECK_OUT))

gpu-wheels: setup
	$(BIN)/python -m benchmarks.gpu_wheels

weights: setup
	$(BIN)/python -m bench weights

lint: setup
	$(BIN)/ruff check .

slurm-up:
	bash slurm/cluster.sh start

slurm-down:
	bash slurm/cluster.sh stop

clean:
	rm -rf $(VENV) .pytest_cache
