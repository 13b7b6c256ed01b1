# Each target builds its own virtual environment from nothing, pinned by constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test serve browser clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,simbench]'  # simbench: the SimBench import is tested too
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/costmodel quote examples/applications/world-bank-warehouse.yaml --ruleset shandong-2019 --what-if
	$(BIN)/costmodel compare examples/applications/world-bank-warehouse.yaml --rulesets national-1996,shandong-2019
	$(BIN)/costmodel quote examples/applications/shanghai-cafe.yaml --ruleset shanghai
	$(BIN)/costmodel doing-business --china

# Browser tests drive Debian's chromium (never a downloaded browser); the PDF quote embeds a Debian
# CJK font. As root both are installed when missing; otherwise the browser tests say why they skip.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei; \
	  else echo "chromium or fonts-wqy-microhei missing and not root: browser tests will be skipped"; fi; \
	fi

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

serve: $(STAMP)
	$(BIN)/costmodel serve --host $(or $(HOST),127.0.0.1) --port $(or $(PORT),8000)

clean:
	rm -rf $(VENV)
