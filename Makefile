# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
PORT ?= 5000
export FLASK_APP := wsgi
VNU := node_modules/vnu-jar/build/dist/vnu.jar

.PHONY: lint messages run test test-sqlite test-postgres test-e2e install translations system-deps bench serve-prod bench-images bench-qr bench-search bench-search-load bench-admin bench-lighthouse stack-up stack-down bench-stack

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed translations $(VNU)

# npm devDependencies (vnu-jar: the Nu HTML Checker tests/test_html_validity.py runs; axe-core,
# lighthouse), installed from package-lock.json whenever it changes.
$(VNU): package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Compiled only when a catalogue changed: `make stack-up` (which installs first) stays
# quiet once everything is installed.
MO := $(patsubst %.po,%.mo,$(wildcard app/translations/*/LC_MESSAGES/messages.po))
translations: $(MO)
$(MO): %.mo: %.po $(BIN)/.installed
	$(BIN)/pybabel compile -i $< -o $@ --statistics

# Serve the site on 127.0.0.1:$(PORT): install, migrate, seed when empty, run. `seed` always
# ends by building (or catching up) the search index, also when it skips an existing
# catalogue, so the first search is answered at full quality.
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed --if-empty
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT) --no-reload

# Production-style serving (see README): gunicorn behind a proxy.
serve-prod: install
	$(BIN)/flask db upgrade
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# Lint and types under pyproject.toml's configuration: zero findings is the bar.
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Debian packages the browser tests need (chromium, CJK fonts); installed only when missing.
# Redis: the login throttle's shared storage, tested against the real server. Java 17: the Nu
# HTML Checker (tests/test_html_validity.py fails without it).
system-deps:
	@./scripts/ensure-debian-packages chromium fonts-noto-cjk
	@./scripts/ensure-debian-packages openjdk-17-jre-headless
	@./scripts/ensure-debian-packages redis-server
	@./scripts/ensure-debian-packages nginx-light wrk
	@./scripts/ensure-debian-packages libnginx-mod-http-brotli-filter || true

# The full suite: lint and types first, then unit/view tests on SQLite, again on PostgreSQL
# when reachable (required in CI), and the browser tests once.
test: install system-deps lint
	$(BIN)/python -m pytest -m "not e2e and not stack" -q
	@if ./scripts/postgres-reachable || [ "$$CI" = "true" ]; then \
		echo "== PostgreSQL run =="; TEST_DATABASE=postgresql $(BIN)/python -m pytest -m "not e2e and not stack" -q; \
	else echo "PostgreSQL not reachable: PostgreSQL run skipped (required when CI=true)"; fi
	$(BIN)/python -m pytest -m e2e -q
	$(BIN)/python -m pytest -m stack -q -p no:randomly

bench: install
	@./scripts/ensure-debian-packages wrk nginx-light
	$(BIN)/python bench/pages.py

# The grown-up deployment on this machine (README, "Deployment"): nginx on $(STACK_PORT) in
# front of two gunicorn nodes under supervisord, PostgreSQL, Redis; files under .stack/.
STACK_PORT ?= $(if $(filter 5000,$(PORT)),8080,$(PORT))
stack-up: install
	@./scripts/ensure-debian-packages nginx-light redis-server postgresql
	@./scripts/ensure-debian-packages libnginx-mod-http-brotli-filter || true
	$(BIN)/python scripts/stack.py up --port $(STACK_PORT)

# Stops exactly what stack-up started (the pids it recorded in .stack/state.json) and removes
# its files; keeps .stack/logs/, the database and .stack/media/ (ARGS=--drop-database drops
# a database stack-up created, and the media, also after a plain stack-down).
stack-down:
	$(BIN)/python scripts/stack.py down $(ARGS)

# Figures of the stack (bench/stack.py brings up its own on a free port and takes it down).
bench-stack: install
	@./scripts/ensure-debian-packages nginx-light wrk redis-server postgresql
	$(BIN)/python bench/stack.py $(ARGS)

# Lighthouse (npm devDependency) on home, a county, a product and a passport: four scores each.
bench-lighthouse: install
	@./scripts/ensure-debian-packages chromium
	npm install --no-audit --no-fund
	$(BIN)/python bench/lighthouse.py

# Photo upload pipeline: time, peak memory and rendition sizes (no server needed).
bench-images: install
	$(BIN)/python bench/images.py

bench-qr: install
	@./scripts/ensure-debian-packages wrk nginx-light
	$(BIN)/python bench/qr.py

# Search: 10,000 synthetic documents (add ARGS="--docs 100000" for the large run).
bench-search: install
	$(BIN)/python bench/search.py $(ARGS)

# The search page under gunicorn + wrk against the home page, same run (ARGS="--profile" adds
# the in-process split by phase).
bench-search-load: install
	@./scripts/ensure-debian-packages wrk
	$(BIN)/python bench/search_load.py $(ARGS)

bench-admin: install
	$(BIN)/python bench/admin.py

# Refresh the message catalogues after changing UI strings, then translate app/translations/*/messages.po.
messages: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l --ignore-dirs='.* .venv node_modules' --no-location --sort-output -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching --ignore-obsolete

# Copy vendored npm assets into the tree (the copies are committed; no CDN, works offline);
# npm ci (the $(VNU) rule) installs the devDependencies first.
vendor: $(VNU)
	cp node_modules/axe-core/axe.min.js tests/e2e/vendor/axe.min.js
	cp node_modules/axe-core/LICENSE tests/e2e/vendor/axe-core.LICENSE
	$(BIN)/python scripts/vendor_openmoji.py
