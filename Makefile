# The two quick-start commands are `make demo` and `make test`; every target sets itself up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --no-install cdk
STACK ?= GsmRftStack
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

# Node 20 still runs the pinned CLI; silence jsii's end-of-life banner so real output stays readable.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
# The CLI caches account look-ups per access key; keep that cache inside the project.
export CDK_HOME := $(CURDIR)/.cdk-home
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_CLI_NOTICES := false

.PHONY: setup demo test synth deploy diff destroy lint format bench clean local-up local-down local-demo

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "==> installing Python dependencies into $(VENV)"
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@# Editable: `rft` finds lambda/, cdk.json and the bundled samples through the repository.
	@PYTHONWARNINGS=ignore $(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@echo "==> installing the pinned CDK CLI (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The task registry (tasks/registry.py) lists the tasks, so a scaffolded task is prepared and summarized
# too. Deferred (=): evaluated when a recipe runs, after `setup` has made $(PY).
TASKS = $(shell $(PY) -m tasks names)
STACKS = $(shell $(PY) -m tasks stacks)

demo: setup
	@for task in $(TASKS); do $(PY) -m data_prep $$task --quiet || exit 1; done
	@echo "==> cdk synth $(STACKS) (no AWS credentials needed)"
	@$(CDK) synth --quiet
	@for stack in $(STACKS); do $(PY) -m rft.summary $$stack || exit 1; done
	@echo "==> the real CDK CLI against a local AWS emulator: bootstrap, deploy, invoke, diff, update, destroy"
	@$(PY) -m local_aws demo --stacks GsmRftStack
	@echo "==> rft evaluate gsm8k on the emulator: a replay of recorded model outputs (not a live model)"
	@$(PY) -m local_aws evaluate-demo

# Offline AWS for cdk deploy/diff/destroy: moto + a Docker-free Lambda executor (local_aws/README.md).
local-up: setup
	@$(PY) -m local_aws up

local-down:
	@$(PY) -m local_aws down

local-demo: setup
	@$(PY) -m local_aws demo --stacks $(STACK)

test: setup
	@$(PY) -m pytest

synth: setup
	$(CDK) synth $(STACK)

deploy: setup
	$(CDK) deploy $(STACK)

diff: setup
	$(CDK) diff $(STACK)

destroy: setup
	$(CDK) destroy $(STACK)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Runs every benchmark and prints each figure against its goal; fails only if a benchmark crashes.
bench: setup
	@$(PY) benchmarks/run.py

clean:
	rm -rf cdk.out build .cdk-home
