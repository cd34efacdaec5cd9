"""The CLI's AWS-free fixtures (tests/cli/conftest.py), for the post-training evaluation's commands."""

from tests.cli.conftest import aws, aws_sandbox, deployed, run_cli  # noqa: F401  (pytest fixtures)
