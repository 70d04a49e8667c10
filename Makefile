# The project's commands. `make test` and `make build` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SOURCE ?= ../shared/source

.PHONY: setup build serve validate check-source lint test clean

# The virtual environment is rebuilt whenever the declared dependencies change.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

build: setup
	$(BIN)/kzcn-kg build

serve: setup
	$(BIN)/kzcn-kg serve

validate: setup
	$(BIN)/kzcn-kg validate

check-source: setup
	$(BIN)/kzcn-kg check-source $(SOURCE)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup check-source lint
	$(BIN)/pytest

clean:
	rm -rf build $(VENV)
