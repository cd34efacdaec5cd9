"""Operator tooling for bedrock-rft.

`rft` (entry point `rft.cli:app`, also `python -m rft`): rehearse a reward before paying for a job,
invoke a deployed reward, watch a job and plot its reward curve, stop it. `python -m rft.summary` is
the demo summary of what `make demo` synthesized.
"""

# `lambda/` is the Lambda asset root; the CLI imports the packages the functions run (`rft_eval`,
# `rft_reward`, the tasks' rewards) from it exactly as deployed, so there is one copy of that code.
from rft.project import ensure_lambda_path as _ensure_lambda_path

_ensure_lambda_path()
