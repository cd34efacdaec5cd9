"""Judge failures in a reward's answer: how many samples the judge did not grade, and the usual causes.

A judged reward never fails a batch when its judge fails (`rft_reward.judge`): each sample it could
not grade is flagged `judge_error` and scored from the task's code-checked part. The answer then
keeps the contract and looks healthy, and on AWS a missing model grant looks exactly like that. So
`rft invoke` and `rft rehearse --judge bedrock` count the flags, name the likely causes, and fail
(exit 5) when the judge graded none of the samples it was asked about.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rft.project import ensure_lambda_path


@dataclass(frozen=True)
class JudgeFailures:
    failed: int  # samples flagged judge_error
    asked: int  # samples sent to the judge (judge_called); the others were decided in code

    @property
    def every_one(self) -> bool:
        return self.asked > 0 and self.failed == self.asked


def _metric_names() -> tuple[str, str]:
    ensure_lambda_path()
    from rft_reward.judge import JUDGE_CALLED, JUDGE_ERROR

    return JUDGE_CALLED, JUDGE_ERROR


def count_judge_failures(per_sample_metrics: Iterable[Mapping[str, float]]) -> JudgeFailures | None:
    """The judge figures of a batch's results; None when no result carries `judge_error` (no judge)."""
    called_name, error_name = _metric_names()
    seen = False
    failed = asked = 0
    for metrics in per_sample_metrics:
        if error_name not in metrics:
            continue
        seen = True
        error = metrics[error_name] >= 0.5
        failed += error
        asked += error or metrics.get(called_name, 1.0) >= 0.5
    return JudgeFailures(failed, asked) if seen else None


def logged_judge_errors(log_text: str) -> Counter[str]:
    """The error codes the reward logged for its failed judge calls (its `judge_errors` log field)."""
    codes: Counter[str] = Counter()
    for line in log_text.splitlines():
        if '"judge_errors"' not in line:
            continue
        try:
            entry = json.loads(line[line.index("{") :])
        except ValueError:
            continue  # a line cut short by Lambda's 4 KB log tail
        errors = entry.get("judge_errors") if isinstance(entry, dict) else None
        if isinstance(errors, dict):
            codes.update({str(code): int(n) for code, n in errors.items() if isinstance(n, int)})
    return codes


def describe(
    failures: JudgeFailures,
    *,
    model: str | None,
    region: str | None,
    codes: Mapping[str, int] | None = None,
    emulated: bool = False,
) -> str:
    """How many samples the judge failed on and what to check: a headline, then one line per cause.

    `emulated`: the endpoint is a local emulator, which serves no judge model, so every call fails there.
    """
    model_text = model or "the judge model"
    region_text = region or "this region"
    lines = [
        f"the judge failed on {failures.failed:,} of the {failures.asked:,} samples sent to it "
        "(judge_error=1), so their scores leave out its part."
    ]
    if codes:
        lines[0] += (
            " The reward logged: " + ", ".join(f"{code} x{n}" for code, n in codes.most_common()) + "."
        )
    if emulated:
        lines[0] += (
            " AWS_ENDPOINT_URL is set: a local emulator serves no judge model, so there this is expected."
        )
    lines += [
        "likely causes:",
        f"- no model access to {model_text} in this account (AccessDeniedException): request it in the "
        "Bedrock console under Model access;",
        "- throttling (ThrottlingException): lower judgeMaxConcurrency in cdk.json (JUDGE_MAX_CONCURRENCY "
        "for a rehearsal) or raise the quota;",
        f"- {region_text} does not serve {model_text} (ValidationException, ResourceNotFoundException): use "
        "a cross-region inference profile id, or another region.",
    ]
    return "\n  ".join(lines)
