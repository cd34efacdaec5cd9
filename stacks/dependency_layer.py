"""The Lambda layer with Powertools and a current boto3, built without Docker.

Every dependency is a pure-Python wheel, so `pip install --platform ... --only-binary=:all:` on any
machine yields exactly what the arm64 Lambda runtime needs. The build is cached under `build/` by the
hash of the requirements file: synth stays fast and offline after the first run, and the asset hash
(taken from the requirements file, not pip's output) only changes when a pin changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS_DIR = REPO_ROOT / "lambda" / "deps"
CACHE_DIR = REPO_ROOT / "build" / "layer-cache"
RUNTIME = lambda_.Runtime.PYTHON_3_14
PYTHON_VERSION = "3.14"


class LayerBuildError(RuntimeError):
    """pip could not build the layer; the message says what to check."""


def build_layer_contents(requirements: Path = REQUIREMENTS_DIR / "requirements.txt") -> Path:
    """Install the pinned requirements for Lambda (arm64) into a cached folder and return it."""
    digest = hashlib.sha256(requirements.read_bytes() + PYTHON_VERSION.encode()).hexdigest()[:16]
    target = CACHE_DIR / digest
    if (target / ".complete").exists():
        return target
    staging = CACHE_DIR / f"{digest}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(staging / "python"), "--requirement", str(requirements),
        "--platform", "manylinux2014_aarch64", "--implementation", "cp",
        "--python-version", PYTHON_VERSION, "--only-binary=:all:",
    ]  # fmt: skip
    print(
        f"building the Lambda dependency layer from {requirements.relative_to(REPO_ROOT)} ...",
        file=sys.stderr,
    )
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LayerBuildError(
            "Could not build the Lambda dependency layer with pip (it needs PyPI once; later synths use "
            f"the cache in {CACHE_DIR.relative_to(REPO_ROOT)}):\n{result.stderr.strip()[-2000:]}"
        )
    (staging / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


@jsii.implements(ILocalBundling)
class _CachedPipBundling:
    """Local bundling: copy the cached pip install into the asset folder CDK hands us."""

    def try_bundle(self, output_dir: str, *args: object, **kwargs: object) -> bool:
        source = build_layer_contents()
        shutil.copytree(source / "python", Path(output_dir) / "python", dirs_exist_ok=True)
        return True


def dependency_layer(scope: Construct, construct_id: str) -> lambda_.LayerVersion:
    """Powertools + boto3 for every function of a stack (reward, job launcher)."""
    return lambda_.LayerVersion(
        scope,
        construct_id,
        description="aws-lambda-powertools and boto3 pinned in lambda/deps/requirements.txt",
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[lambda_.Architecture.ARM_64],
        code=lambda_.Code.from_asset(
            str(REQUIREMENTS_DIR),
            asset_hash_type=AssetHashType.SOURCE,
            bundling=BundlingOptions(
                # Never used: local bundling always succeeds or raises with pip's message.
                image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.14"),
                local=_CachedPipBundling(),
            ),
        ),
    )
