# The project's commands. `make test` and `make build` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SOURCE ?= ../shared/source

.PHONY: setup build serve validate check-source lint test clean browser virtuoso assets

# The virtual environment is rebuilt whenever the declared dependencies change.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

setup: $(VENV)/.installed assets

# The YASGUI query editor at /sparql and the Cytoscape.js network picture on the home page are
# served from our own origin, so their prebuilt browser bundles are installed from the npm lock
# file and copied under server/static/vendor/ (ignored by git). npm runs again only when the
# lock file is newer than its last install; no dependency needs an install script (the bundles
# ship built), so none are run.
YASGUI_BUILD := node_modules/@zazuko/yasgui/build
YASGUI_VENDOR := server/static/vendor/yasgui
YASGUI_FILES := yasgui.min.js yasgui.min.css
CYTOSCAPE_BUILD := node_modules/cytoscape/dist
CYTOSCAPE_VENDOR := server/static/vendor/cytoscape
CYTOSCAPE_FILES := cytoscape.min.js

node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		echo "make assets: npm was not found; install Node.js (with npm) to build the SPARQL query editor's assets." >&2; \
		exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

$(YASGUI_VENDOR)/%: node_modules/.package-lock.json
	@mkdir -p $(YASGUI_VENDOR)
	cp $(YASGUI_BUILD)/$* $@

$(CYTOSCAPE_VENDOR)/%: node_modules/.package-lock.json
	@mkdir -p $(CYTOSCAPE_VENDOR)
	cp $(CYTOSCAPE_BUILD)/$* $@

assets: $(addprefix $(YASGUI_VENDOR)/,$(YASGUI_FILES)) \
	$(addprefix $(CYTOSCAPE_VENDOR)/,$(CYTOSCAPE_FILES))

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

test: setup browser virtuoso check-source lint
	$(BIN)/pytest

# Browser tests drive Debian's Chromium (not a browser downloaded by a test tool), with
# CJK fonts so Chinese labels render in screenshots. Needs root, as in CI.
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list | grep -qi "noto sans cjk" || { \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

# The remote-store tests start a private Virtuoso (Debian's package) on 127.0.0.1; the
# package's own service is never left running. Needs root, as in CI.
virtuoso:
	@bash scripts/install-virtuoso.sh

clean:
	rm -rf build $(VENV)
