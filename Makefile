# The README's two commands.  Both create .venv, install torch's CPU build first (from local
# disk where available) and then tsauto.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tsauto inspect aus_retail
	$(BIN)/tsauto fit aus_retail --time-budget 2m --out out/aus_retail
	$(BIN)/tsauto forecast out/aus_retail/model.pkl --out out/aus_retail/forecast.csv

test: $(STAMP)
	HOME=$$(mktemp -d) MPLCONFIGDIR=$$(mktemp -d) $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache
