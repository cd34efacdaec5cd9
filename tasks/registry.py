"""Which tasks exist, in the order the CDK app builds their stacks: one line per module under tasks/.

Each listed module defines `TASK = TaskSpec(...)`. `rft new-task` appends one line here; deleting a
line unregisters the task everywhere (the CDK app, data_prep, the CLI and `make demo`).
"""

MODULES: tuple[str, ...] = (
    "gsm8k",
    "finqa",
    "pandalm",
)
