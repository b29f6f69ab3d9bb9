# The two commands of the README: `make run` and `make test`. Everything else is a helper target.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# torch first and pinned: an unpinned torch pulls several GB of CUDA; the CPU wheel may lie in /opt/wheels.
TORCH := torch==2.13.0
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)

.PHONY: run test install lint format validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(FIND_LINKS) $(TORCH)
	$(BIN)/pip install --quiet $(FIND_LINKS) -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install validate

validate: install
	$(BIN)/feedbackml data validate data/labelled/train.jsonl data/labelled/dev.jsonl data/labelled/test.jsonl

test: install lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: install
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
