# Two commands: `make run` (set up and start the app) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test lint venv dev-venv native system-deps llama-server clean

$(VENV)/.runtime-installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(VENV)/.runtime-installed
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.runtime-installed
dev-venv: $(VENV)/.dev-installed

run: venv
	$(PY) scripts/build_native.py
	$(PY) -m streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

system-deps:
	bash scripts/install-system-deps.sh

# The real llama.cpp server for tests/test_llama_server.py: built once into ~/.cache/interviewer (cached wheel).
llama-server: dev-venv
	bash scripts/install-llama-server.sh $(PY)

# The offline judge's hot modules compiled with mypyc into .native/ (optional for `run`, required for `test`).
native: dev-venv
	$(PY) scripts/build_native.py --strict

lint: dev-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy interviewer

test: dev-venv system-deps llama-server native lint
	INTERVIEWER_REQUIRE_LLAMA=1 INTERVIEWER_REQUIRE_NATIVE=1 $(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts .native .native.new
