# The two commands of the README: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements

.PHONY: run serve test checkpoints bench

$(STAMP): requirements.txt requirements-nodeps.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -r requirements-nodeps.txt
	cat requirements.txt requirements-nodeps.txt > $(STAMP)

run: $(STAMP)
	$(PY) -m streamlit run app.py --server.address 127.0.0.1 --server.port 8501

# Serve a class: every network interface, port PORT, under the path BASE_URL when a reverse proxy forwards one
# (e.g. `make serve PORT=8502 BASE_URL=latentlab`; deploy/README.md has the nginx recipe for one or more replicas).
PORT ?= 8501
BASE_URL ?=
serve: $(STAMP)
	$(PY) -m streamlit run app.py --server.address 0.0.0.0 --server.port $(PORT) --server.baseUrlPath "$(BASE_URL)"

test: $(STAMP)
	$(PY) -m pytest

# Rebuild every shipped checkpoint and its maps (about 10 minutes on 2 CPU cores).
checkpoints: $(STAMP)
	bash checkpoints/rebuild.sh

bench: $(STAMP)
	$(PY) bench/explorer.py
