"""Fixed identities, paths and limits of the local AWS emulator.

The identities are fixed on purpose: moto answers every request for account 123456789012, the CDK
CLI caches "which account goes with this access key" in CDK_HOME, and the synthesized stacks name
that account. Keeping all three the same (and CDK_HOME inside build/) means a cache written against
one emulator can never point another one, or real AWS, at the wrong account.
"""

from __future__ import annotations

import os
from pathlib import Path

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
RUNTIMES_DIR = PACKAGE_DIR / "runtimes"
SAMPLES_DIR = PACKAGE_DIR / "samples"
NODE_MODULES = PROJECT_ROOT / "node_modules"
NODE_PRELOAD = RUNTIMES_DIR / "node_preload.js"

# The emulator's own health check, answered before any request reaches moto.
HEALTH_PATH = "/__local_aws/health"
# POST {"jobIdentifier": name or ARN}: the emulated job completes and Bedrock's event is put (no training
# runs offline, so this is how a job "finishes"; `python -m local_aws complete-job NAME` calls it).
COMPLETE_JOB_PATH = "/__local_aws/bedrock/complete-job"

# A Lambda (or a custom resource behind it) never runs longer than this locally, whatever its
# configured timeout: the Provider framework's own function is configured for 15 minutes, and a
# hung handler must fail the deploy in bounded time instead of hanging it.
LAMBDA_TIMEOUT_CAP_S = float(os.environ.get("LOCAL_AWS_LAMBDA_TIMEOUT_CAP_S", "120"))
# Interpreter start-up and imports are not part of a Lambda's billed timeout; allow for them.
LAMBDA_STARTUP_GRACE_S = 3.0
# Step Functions Wait states and Retry back-off never wait longer than this on the emulator (a workflow
# that polls a deployment every minute polls every second here). An emulator setting, not product
# configuration: the deployed definition keeps its real waits.
SFN_WAIT_CAP_S = float(os.environ.get("LOCAL_AWS_SFN_WAIT_CAP_S", "1"))


def state_dir() -> Path:
    """Where `up` keeps its state file, log and CDK cache (`LOCAL_AWS_STATE_DIR` overrides)."""
    override = os.environ.get("LOCAL_AWS_STATE_DIR")
    return Path(override).resolve() if override else PROJECT_ROOT / "build" / "local_aws"


def state_file() -> Path:
    return state_dir() / "emulator.json"


def log_file() -> Path:
    return state_dir() / "emulator.log"


def cdk_home() -> Path:
    return state_dir() / "cdk-home"
