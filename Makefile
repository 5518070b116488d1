# Two commands on a fresh machine: `make run` and `make test`. Each creates .venv when missing.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PORT    ?= 8501
export NUMBA_CACHE_DIR := $(CURDIR)/.cache/numba
export EXPLORER_STORE  ?= $(CURDIR)/runs

.PHONY: run test install clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/python -m core warm-up  # UMAP's numba code, compiled once into .cache/numba
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python dashboard/serve.py --server.port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q -rs --durations=25 -n auto --dist loadfile

clean:
	rm -rf $(VENV) .cache runs .pytest_cache
