# zhiwen — the two commands a newcomer runs: `make serve` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install serve test lint typecheck unit browser-deps screenshot eval bench clean

install: $(STAMP)

# torch first, pinned to the local CPU wheel, so nothing pulls the CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev,st,ui,ray]"
	$(PY) -c "from rag.cedict_table import table; table()"  # CC-CEDICT table (English questions, Chinese proper words), once per machine
	touch $(STAMP)

serve: install
	$(VENV)/bin/zhiwen serve --host $(HOST) --port $(PORT)

# Chromium and a CJK font for the browser tests (Debian packages; root only).
browser-deps:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "Noto.*CJK"; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	else echo "browser-deps: install chromium and fonts-noto-cjk to run the browser tests"; fi

lint: install
	$(VENV)/bin/ruff check rag server ui tests bench
	$(VENV)/bin/ruff format --check rag server ui tests bench

typecheck: install
	$(VENV)/bin/mypy

unit: install
	$(VENV)/bin/pytest -q -m "not slow and not browser"

test: install browser-deps lint typecheck
	$(VENV)/bin/pytest -q -ra

screenshot: install browser-deps
	ZHIWEN_UPDATE_SCREENSHOT=1 $(VENV)/bin/pytest -q tests/ui/test_browser.py

eval: install
	$(VENV)/bin/zhiwen eval ../shared/eval/seeds_qa.jsonl

clean:
	rm -rf $(VENV) .zhiwen .pytest_cache .mypy_cache .ruff_cache
