# Each target builds its own virtual environment from nothing, pinned by constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test serve bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/costmodel quote examples/applications/world-bank-warehouse.yaml --ruleset shandong-2019
	$(BIN)/costmodel compare examples/applications/world-bank-warehouse.yaml --rulesets national-1996,shandong-2019

test: $(STAMP)
	$(BIN)/python -m pytest -q

serve: $(STAMP)
	$(BIN)/costmodel serve --host $(or $(HOST),127.0.0.1) --port $(or $(PORT),8000)

clean:
	rm -rf $(VENV)
