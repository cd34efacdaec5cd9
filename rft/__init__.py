"""Operator tooling for bedrock-rft.

`rft` (entry point `rft.cli:app`, also `python -m rft`): rehearse a reward before paying for a job,
invoke a deployed reward, watch a job and plot its reward curve, stop it. `python -m rft.summary` is
the demo summary of what `make demo` synthesized.
"""
