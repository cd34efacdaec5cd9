"""Checking a reward handler's answer against the Lambda contract, for rehearse and invoke alike.

The check lives in `lambda/rft_eval/reward_contract.py` (the evaluation workflow's Lambda reads answers the
same way); this module is where the CLI's commands import it from.
"""

from __future__ import annotations

from rft_eval.reward_contract import MAX_PROBLEMS, Result, check_results, parse_result

__all__ = ["MAX_PROBLEMS", "Result", "check_results", "parse_result"]
