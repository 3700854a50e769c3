# shoplake: `make test` runs every check, `make demo` runs the whole system locally.
# Both set themselves up from nothing: virtual environments from the pinned requirements.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell scripts/find-python 3.12)
VENV := .venv
TOOLS := .venv-tools
BIN := $(VENV)/bin
TOOLS_BIN := $(TOOLS)/bin
export AWS_DEFAULT_REGION ?= ap-northeast-2
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYSPARK_PYTHON := $(CURDIR)/$(BIN)/python

# Glue reads the shop database over JDBC; the tests use the same driver, from Debian.
JDBC_JAR := /usr/share/java/postgresql.jar
# The analytics report is tested in a real browser: Debian's Chromium and its driver.
CHROMEDRIVER := /usr/bin/chromedriver
# The report asks for a Korean font by name: its browser test draws Hangul with Debian's Noto Sans CJK.
KOREAN_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
# The shop's web tier is nginx: Debian's, run unprivileged by local_stack/nginx.py (tests, demo, bench).
NGINX := /usr/sbin/nginx
# Debian's packages, installed when run as root; another apt (a second make, unattended upgrades) is waited for.
APT := apt-get -o DPkg::Lock::Timeout=600
# `make report`: the marketing report for these Seoul days, from this lake (a directory or s3://bucket/);
# by default the local stack's copy of its lake, which `make demo` leaves in .local/lake.
LAKE ?= .local/lake
TO ?= $(shell date -u +%F)
FROM ?= $(shell date -u -d '$(TO) -6 days' +%F)

# Every CloudFormation template shoplake deploys: the parent and its nested children.
TEMPLATES := template.yaml analytics/quicksight.yaml $(sort $(wildcard infra_core/*.yaml infra_core/**/*.yaml))

.PHONY: help test unit fuzz demo bench build invoke lint typecheck templates pytest format clean cost report survey-template iam-report

help:
	@echo "make test    - format check, lint, type check, template checks, sam build, all tests"
	@echo "make unit    - the fast tests only (no Spark, browser, servers or build), in about a minute"
	@echo "make demo    - the whole system, locally, end to end"
	@echo "make bench   - the benchmarks in bench/"
	@echo "make fuzz    - coverage-guided fuzzing of the clickstream transform (FUZZ_SECONDS=180), not in make test"
	@echo "make build   - sam build"
	@echo "make invoke FUNCTION=SlackNotifierFunction EVENT=events/slack_notifier/sns_alarm_web_5xx.json"
	@echo "make format  - apply ruff's formatting and fixes"
	@echo "make report FROM=2026-11-01 TO=2026-11-30 [LAKE=.local/lake or s3://bucket/] - the marketing report"
	@echo "make cost    - the core platform's monthly cost for each sizing profile"
	@echo "make survey-template FORM=offline_ads - a blank survey template, .local/templates/<form>.xlsx"
	@echo "make iam-report - per role: actions granted, used by the tests and the demo, and unused (with why)"

# The pinned requirements, then shoplake itself, editable (pyproject.toml says which packages).
$(BIN)/.ready: requirements/dev.txt layers/shoplake/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation --editable .
	touch $@

$(TOOLS_BIN)/.ready: requirements/tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS_BIN)/pip install --quiet -r requirements/tools.txt
	touch $@

test: lint typecheck templates build pytest

lint: $(BIN)/.ready
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(BIN)/.ready
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(BIN)/.ready
	$(BIN)/mypy

templates: $(BIN)/.ready $(TOOLS_BIN)/.ready
	@for t in $(TEMPLATES); do \
	  echo "== $$t"; \
	  $(TOOLS_BIN)/sam validate --lint --template-file $$t; \
	  $(BIN)/cfn-lint $$t; \
	  $(TOOLS_BIN)/checkov --skip-download --quiet --compact --framework cloudformation -f $$t; \
	done

$(JDBC_JAR):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  $(APT) update -qq && $(APT) install -y -qq libpostgresql-jdbc-java >/dev/null; \
	else \
	  echo "note: install the PostgreSQL JDBC driver (Debian: libpostgresql-jdbc-java); the JDBC test skips without it"; \
	fi

$(CHROMEDRIVER):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  ($(APT) update -qq && $(APT) install -y -qq chromium chromium-driver >/dev/null) \
	    || echo "note: could not install Chromium; the browser test skips without it"; \
	else \
	  echo "note: install Chromium and its driver (Debian: chromium chromium-driver); the browser test skips without them"; \
	fi

$(KOREAN_FONT):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && apt-get install -y -qq fonts-noto-cjk >/dev/null) \
	    || echo "note: could not install a Korean font; the report's Korean-font test skips without it"; \
	else \
	  echo "note: install a Korean font (Debian: fonts-noto-cjk); the report's Korean-font test skips without it"; \
	fi

# Only the binary: the package's own service is neither started nor needed (policy-rc.d permitting).
$(NGINX):
	@if command -v nginx >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  ($(APT) update -qq && $(APT) install -y -qq nginx >/dev/null && (service nginx stop >/dev/null 2>&1 || true)) \
	    || echo "note: could not install nginx; the shop's tests, demo and benchmark need it"; \
	else \
	  echo "note: install nginx (Debian: apt-get install nginx); the shop's tests, demo and benchmark need it"; \
	fi

# Every local stack the tests start keeps its IAM ledger in .local/iam; after the tests, each grant of
# each role must have been used, or say beside its statement why not (local_stack/iam/report.py).
pytest: $(BIN)/.ready $(JDBC_JAR) $(CHROMEDRIVER) $(KOREAN_FONT) $(NGINX)
	rm -rf .local/iam
	$(BIN)/pytest
	$(BIN)/python -m local_stack.iam.report --check --quiet

# The least-privilege report over the ledgers the last `make test` or `make demo` left in .local/iam.
iam-report: $(BIN)/.ready
	$(BIN)/python -m local_stack.iam.report

# The fast loop: every test but those marked spark, server, browser or build (pyproject.toml says what
# each means; tests/conftest.py applies them). Sockets are off, so a test that starts a server without
# its mark fails here; one that hangs instead (moto's server waits for its socket) has its stack printed.
UNIT_MARKERS := not (spark or server or browser or build)
unit: $(BIN)/.ready $(NGINX)
	$(BIN)/pytest -m "$(UNIT_MARKERS)" --disable-socket --allow-hosts= -o faulthandler_timeout=60

# Coverage-guided fuzzing of the clickstream transform (atheris; tests/fuzz/), outside `make test`: the
# properties of tests/clickstream_oracle.py on batches libFuzzer makes; findings go to .local/fuzz/crash-*.
FUZZ_SECONDS ?= 180
$(BIN)/.fuzz-ready: requirements/fuzz.txt $(BIN)/.ready
	$(BIN)/pip install --quiet -r requirements/fuzz.txt
	touch $@

fuzz: $(BIN)/.fuzz-ready
	$(BIN)/python -m tests.fuzz.fuzz_clickstream_transform --seconds $(FUZZ_SECONDS)

report: $(BIN)/.ready
	$(BIN)/python -m analytics --lake "$(LAKE)" --from "$(FROM)" --to "$(TO)" --out .local/report-$(FROM)-$(TO).html

# A blank template workbook generated from the survey form's file (docs/surveys.md, "Blank templates").
survey-template: $(BIN)/.ready
	$(BIN)/python -m shoplake.surveys.template "$(FORM)" --out .local/templates/$(FORM).xlsx

demo: $(BIN)/.ready $(NGINX) $(JDBC_JAR)
	$(BIN)/python -m local_stack.demo

bench: $(BIN)/.ready $(NGINX)
	$(BIN)/python bench/run.py

invoke: $(BIN)/.ready
	$(BIN)/python -m local_stack.invoke $(FUNCTION) $(EVENT) $(if $(UPLOAD),--upload "$(UPLOAD)")

# sam build needs the runtime's interpreter (python3.12) on PATH; the tools venv provides it.
build: $(TOOLS_BIN)/.ready
	PATH="$(CURDIR)/$(TOOLS_BIN):$$PATH" $(TOOLS_BIN)/sam build

# The core platform's monthly cost from its templates and infra_core/prices.ap-northeast-2.toml.
cost: $(BIN)/.ready
	$(BIN)/python -m infra_core.cost

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
