# The two commands of the README's quickstart, and what they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The official JavaScript libraries the relay tests use as clients (npm, locked).
JS := tests/relay/js
JS_STAMP := $(JS)/node_modules/.installed

.PHONY: demo test install system-deps bench lint

demo: system-deps $(STAMP)
	$(BIN)/segdesk demo

test: system-deps $(STAMP) $(JS_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(JS_STAMP): $(JS)/package-lock.json
	npm ci --prefix $(JS) --no-audit --no-fund
	touch $(JS_STAMP)

system-deps:
	bash scripts/system-deps.sh

lint: $(STAMP)
	$(BIN)/lint-imports

# Install and ship (docs/INSTALL.md).
.PHONY: wheel bundle check-packaging

wheel:
	rm -rf build/lib build/bdist.*  # setuptools builds in-tree: no stale files in the wheel
	$(PY) -m pip wheel --quiet --no-deps -w dist .
	$(PY) -m segdesk.collector_relay.wheel dist

bundle: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bundle]'
	$(BIN)/pyinstaller --noconfirm --clean build.spec
	@du -sh dist/segdesk

check-packaging: $(STAMP)
	PY=$(BIN)/python bash scripts/check_wheel.sh
	PY=$(BIN)/python bash scripts/check_bundle.sh
