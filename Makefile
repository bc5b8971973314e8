# Two commands for a new user: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
QUESTIONS ?= eval/questions.jsonl
UNANSWERABLE ?= eval/unanswerable.jsonl
STAMP  := $(VENV)/.installed

.PHONY: install model index run test lint eval bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch goes first and exactly: any other version pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

model: install
	$(BIN)/qa model

index: model
	$(BIN)/qa index --if-stale

run: index
	$(BIN)/qa serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: model lint
	$(BIN)/python -m pytest

eval: index
	$(BIN)/qa eval $(QUESTIONS) --unanswerable $(UNANSWERABLE) --mode all

bench: index
	$(BIN)/python -m qa.bench

clean:
	rm -rf $(VENV) models index/versions index/CURRENT index/writer.lock index/*.json index/*.jsonl index/*.faiss index/*.npy index/lexical
