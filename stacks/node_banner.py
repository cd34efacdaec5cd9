"""Keep jsii's Node end-of-life banner out of synth output.

jsii (under aws_cdk) prints an 11-line banner, as Python bytes literals, on every synth when Node is
past end of life. `npx cdk` runs app.py directly, so app.py calls this before importing aws_cdk, not
only the Makefile; the test suite calls it too. Standard library only: importing this module must not
start Node.
"""

from __future__ import annotations

import os
import subprocess


def silence_node_banner() -> None:
    """Set jsii's silencing switches unless already set; the end-of-life one names Node's major version."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    if "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION" not in os.environ:
        try:
            version = subprocess.run(
                ["node", "--version"], capture_output=True, text=True, timeout=30, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):  # no node: aws_cdk will say so itself
            return
        major = version.strip().lstrip("v").split(".")[0]
        if major.isdigit():
            os.environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = major
