"""Where a stack's post-training evaluation is found: the names the stack, the workflow and the CLI share.

The CDK app loads this file by path (it never imports Lambda packages); `rft` imports it as
`rft_eval.layout`, so each name is written once.
"""

from __future__ import annotations

#: Reports go under `s3://<bucket>/rft-eval/<job-name>/` of the stack's bucket (ISSUE13 contract, section 2).
REPORT_PREFIX = "rft-eval/"
#: The stack output holding the evaluation state machine's ARN; absent when rft:evaluateOnCompletion=false.
STATE_MACHINE_OUTPUT = "EvaluationStateMachineArn"
