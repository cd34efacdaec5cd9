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

.PHONY: setup browser demo test scan synth deploy diff destroy lint format bench clean local-up local-down local-demo

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
	@echo "==> the real CDK CLI against a local AWS emulator: bootstrap, deploy, invoke, diff, update, destroy; then an open-weight cycle (gpt-oss-20b)"
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

test: setup browser
	@$(PY) -m pytest

# tests/evaluate renders the evaluation report in headless Chromium (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "==> installing chromium (apt-get) for the HTML report test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "make test needs Chromium for the HTML report test: install it (e.g. sudo apt-get install -y chromium)" >&2; exit 1; \
	  fi; }

synth: setup
	$(CDK) synth $(STACK)

# Security scanners on every stack, as a platform team's pipeline runs them: cfn-lint (0 errors) and
# checkov (0 failed checks; each skip carries its reason in the resource's metadata). They live in their
# own environment, pinned in requirements-scan.txt, so their dependencies never move the project's.
# Scanned three times: with the defaults, with every governed-account knob (docs/governed-account.md),
# and with an open-weight base model (its launcher's IAM differs: docs/open-weight.md).
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
SCAN_DIR := build/scan
GOVERNED_CONTEXT := -c rft:kmsKeyArn=arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab \
	-c rft:assetsKmsKeyArn=arn:aws:kms:us-east-1:123456789012:key/abcd1234-12ab-34cd-56ef-1234567890ab \
	-c 'rft:vpc={"subnetIds":["subnet-0123456789abcdef0"],"securityGroupIds":["sg-0123456789abcdef0"],"rewardInVpc":true}' \
	-c rft:bucketVersioning=true -c rft:outputExpirationDays=90 \
	-c @aws-cdk/core:permissionsBoundary=rft-boundary -c @aws-cdk/core:bootstrapQualifier=mlteam
# No network beyond the package index: checkov neither downloads policies nor maps to its platform.
export BC_SKIP_MAPPING := TRUE
export CHECKOV_RUN_SCA_PACKAGE_SCAN_V2 := false

$(SCAN_STAMP): requirements-scan.txt
	@test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	@echo "==> installing the pinned scanners into $(SCAN_VENV)"
	@$(SCAN_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-scan.txt
	@touch $@

scan: setup $(SCAN_STAMP)
	@for task in $(TASKS); do $(PY) -m data_prep $$task --quiet || exit 1; done
	@rm -rf $(SCAN_DIR)
	@echo "==> cdk synth: default, governed and open-weight"
	@$(CDK) synth --quiet -o $(SCAN_DIR)/default > /dev/null
	@$(CDK) synth --quiet -o $(SCAN_DIR)/governed $(GOVERNED_CONTEXT) > /dev/null
	@$(CDK) synth --quiet -o $(SCAN_DIR)/open-weight -c rft:baseModel=openai.gpt-oss-20b > /dev/null
	@echo "==> cfn-lint $$($(SCAN_VENV)/bin/cfn-lint --version)"
	@# W3005: CDK adds DependsOn on a role it also references; harmless, and not ours to change.
	@$(SCAN_VENV)/bin/cfn-lint --non-zero-exit-code error --ignore-checks W3005 --format parseable -- $(SCAN_DIR)/*/*.template.json && echo "cfn-lint: 0 errors"
	@echo "==> checkov $$($(SCAN_VENV)/bin/checkov --version)"
	@for file in $(SCAN_DIR)/*/*.template.json; do \
		out=$$($(SCAN_VENV)/bin/checkov -f $$file --framework cloudformation --skip-download --compact 2>&1); rc=$$?; \
		echo "$$file: $$(echo "$$out" | grep -m1 -o 'Passed checks: [0-9]*, Failed checks: [0-9]*, Skipped checks: [0-9]*')"; \
		if [ $$rc -ne 0 ]; then echo "$$out" | grep -A3 FAILED; \
			echo "checkov: fix each failed check, or skip it with its reason (stacks/nag.py checkov_skip)"; exit 1; fi; \
	done

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
