# hybrid-bench. `make bench` and `make test` work on a fresh clone: every target depends on setup.
PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
DATASET   ?= digits
DATA_ROOT ?=
DEVICE    ?= cpu
CONFIG    ?= bench/sweeps/smoke.yaml
EXECUTOR  ?= local
SWEEP_DIR ?= results/sweeps/smoke
TEST_WORKERS ?= 2

.PHONY: setup test bench sweep report perf perf-compare weights lint slurm-up slurm-down clean

setup: $(STAMP)
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

bench: setup
	$(BIN)/python -m bench bench --dataset $(DATASET) $(if $(DATA_ROOT),--data-root $(DATA_ROOT)) --device $(DEVICE)

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
