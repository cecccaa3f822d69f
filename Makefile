# The two commands a newcomer needs: `make run` and `make test`. Everything else is set up on first use.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := contracts/node_modules/.installed-stamp
export TRACEMARK_DB ?= sqlite:///tracemark.db

.PHONY: system-deps run reset run-network reset-network test test-fast lint bench bench-quick contracts-check contracts demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): contracts/package.json contracts/package-lock.json
	cd contracts && npm ci --silent --no-audit --no-fund
	touch $(NODE_STAMP)

## run: set up, seed the embedded SQLite log with the demo data set (once), and start the service
run: $(STAMP)
	@if [ ! -s tracemark.db ]; then $(BIN)/tracemark demo; fi
	$(BIN)/tracemark serve

## reset: delete the demo log (tracemark.db) and everything the demo made for it in .tracemark (keys, API keys, labels); the next `make run` starts a new one
reset:
	rm -f tracemark.db tracemark.db-wal tracemark.db-shm tracemark.db-journal
	rm -rf .tracemark

## run-network: two national logs (a German firearms registry on PostgreSQL 127.0.0.1:5432, a Kenyan wildlife authority on SQLite) and a witness, peered, with a demo story; state kept in .network; Ctrl-C stops all three
run-network: $(STAMP)
	$(BIN)/tracemark network up

## reset-network: delete .network and drop the German log's database (tracemark_de); the next `make run-network` starts a new network
reset-network: $(STAMP)
	$(BIN)/tracemark network reset

## system-deps: Debian packages the suite drives for real (browser, video for the fake camera, compose validator, HTTP load, static tiles)
system-deps:
	@missing=""; \
	for pair in chromium:chromium ffmpeg:ffmpeg docker-compose:docker-compose wrk:wrk nginx:nginx; do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

## test: set up and run the whole suite (SQLite, PostgreSQL, chain, browser), after the linters
test: $(STAMP) contracts-check system-deps lint
	$(BIN)/pytest

## lint: ruff (style, import order) over the project and mypy (strict) over the core
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test-fast: $(STAMP)
	$(BIN)/pytest -x -m "not slow"

## contracts-check: recompile LedgerAnchor.sol with the pinned solc; fail if the committed artifact differs
contracts-check: $(NODE_STAMP)
	cd contracts && node compile.js --check

contracts: $(NODE_STAMP)
	cd contracts && node compile.js

## bench: every benchmark at full size (up to about two hours: a real signed log grown to 10^7 events)
bench: $(STAMP) system-deps
	$(BIN)/python -m bench

## bench-quick: every benchmark at small sizes, under two minutes
bench-quick: $(STAMP) system-deps
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) contracts/node_modules .pytest_cache .hypothesis
