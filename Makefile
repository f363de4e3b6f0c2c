# medcorpus: `make demo` and `make test` are all a fresh machine needs.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
OUT    ?= out/demo
WORKERS ?= 2

.PHONY: demo test test-fast test-slurm lint bench bench-scale deid-model clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q -e .
	touch $@

# torch==2.13.0 is installed first: that pin is the CPU build; a bare torch requirement would pull CUDA.
$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev,train,ray]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/medcorpus demo --out $(OUT) --workers $(WORKERS)

test: $(VENV)/.installed-dev
	$(BIN)/ruff check medcorpus tests benchmarks
	$(BIN)/pytest -q -ra

test-fast: $(VENV)/.installed-dev
	$(BIN)/pytest -q -m "not slow"

# A one-node Slurm cluster on this machine (root: installs Debian's slurm and munge), then the Slurm test.
test-slurm: $(VENV)/.installed-dev
	scripts/slurm_one_node.sh
	$(BIN)/pytest -q -ra tests/run/test_slurm.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check medcorpus tests benchmarks
	$(BIN)/ruff format --check medcorpus tests benchmarks

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run_all.py

# Whole-pipeline throughput on 1 and 6 copies of a PubMed baseline file (issue 20): builds a 100 MB corpus, minutes.
bench-scale: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/bench_scale.py

# The shipped de-identification classifier, rebuilt byte for byte from the PhysioNet dev corpus (lock-box left out).
DEID_CORPUS ?= ../shared/data/deid/physionet_deid_dev
deid-model: $(VENV)/.installed
	$(BIN)/python -m medcorpus.curation.deid.learned.train --corpus $(DEID_CORPUS) --seed 0

clean:
	rm -rf out .pytest_cache .ruff_cache
