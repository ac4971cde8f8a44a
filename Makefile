# The two commands of the README: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements

.PHONY: run test checkpoints bench

$(STAMP): requirements.txt requirements-nodeps.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -r requirements-nodeps.txt
	cat requirements.txt requirements-nodeps.txt > $(STAMP)

run: $(STAMP)
	$(PY) -m streamlit run app.py --server.address 127.0.0.1 --server.port 8501

test: $(STAMP)
	$(PY) -m pytest

# Rebuild every shipped checkpoint and its maps (about 10 minutes on 2 CPU cores).
checkpoints: $(STAMP)
	bash checkpoints/rebuild.sh

bench: $(STAMP)
	$(PY) bench/explorer.py
