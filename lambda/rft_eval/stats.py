"""The statistics of an evaluation, exact and dependency-free, so they can be checked by hand.

* `wilson`: a 95 % interval for a share that stays inside [0, 1] and behaves at 0/n and n/n, where
  the normal approximation collapses to a zero-width interval.
* `mcnemar_exact`: the paired test for two models answering the same prompts. Only the prompts
  where they disagree carry information; under "no difference" each disagreement is a fair coin, so
  the two-sided p-value is a binomial tail, computed exactly (no chi-square approximation, which is
  wrong for the handful of discordant prompts a small test split gives).
* `paired_difference_ci`: a 95 % interval for the difference in accuracy of two models on the same
  prompts (Newcombe's hybrid score interval, his method 10), built from the two Wilson intervals and
  the correlation of the paired answers: it stays inside [-1, 1] and is sensible at small counts,
  where the Wald interval is not.
* `pass_at_k` and `signal`: what a pre-flight on the base model reports (GRPO learns only from
  prompt groups whose samples disagree).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile
PAYS_AT = 0.5  # a response is "correct" when its reward is at least this


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for `successes` out of `n`; (0, 1) when there is nothing to go on."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within [0, {n}], got {successes}")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return (max(0.0, center - half), min(1.0, center + half))


def mcnemar_exact(improved: int, regressed: int) -> float:
    """Two-sided exact McNemar p-value from the two discordant counts (1.0 when there are none)."""
    if improved < 0 or regressed < 0:
        raise ValueError("discordant counts cannot be negative")
    n = improved + regressed
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(improved, regressed) + 1))
    return min(1.0, 2 * tail / 2**n)


def paired_difference_ci(
    both: int, candidate_only: int, baseline_only: int, neither: int, z: float = Z95
) -> tuple[float, float]:
    """Newcombe's interval for (candidate accuracy - baseline accuracy) over n paired prompts.

    The four counts are the paired table: right for both, for the candidate only (improved), for the
    baseline only (regressed), for neither. (-1, 1) when there are no prompts.
    """
    counts = (both, candidate_only, baseline_only, neither)
    if min(counts) < 0:
        raise ValueError("paired counts cannot be negative")
    n = sum(counts)
    if n == 0:
        return (-1.0, 1.0)
    p1, p2 = (both + candidate_only) / n, (both + baseline_only) / n
    l1, u1 = wilson(both + candidate_only, n, z)
    l2, u2 = wilson(both + baseline_only, n, z)
    margins = (
        (both + candidate_only)
        * (baseline_only + neither)
        * (both + baseline_only)
        * (candidate_only + neither)
    )
    phi = (both * neither - candidate_only * baseline_only) / math.sqrt(margins) if margins else 0.0
    delta = p1 - p2
    low = delta - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = delta + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return (max(-1.0, low), min(1.0, high))


def pass_at_k(n: int, correct: int, k: int) -> float:
    """The unbiased pass@k estimate from `n` samples of which `correct` pass: P(any of k passes)."""
    if not 0 < k <= n or not 0 <= correct <= n:
        raise ValueError(f"need 0 < k <= n and 0 <= correct <= n, got n={n} correct={correct} k={k}")
    if n - correct < k:
        return 1.0
    return 1.0 - math.comb(n - correct, k) / math.comb(n, k)


def has_signal(scores: Sequence[float], pays_at: float = PAYS_AT) -> bool:
    """Whether a prompt group can teach GRPO anything: some samples pay and some do not."""
    paid = sum(1 for score in scores if score >= pays_at)
    return 0 < paid < len(scores)


def majority_correct(scores: Sequence[float], pays_at: float = PAYS_AT) -> bool | None:
    """A prompt's correctness from its K scored samples: more than half pay (None: no sample scored).

    With K = 1 this is simply whether the one response pays. A tie (2 of 4) counts as not correct,
    so a model must be right more often than not to be credited with the prompt.
    """
    if not scores:
        return None
    return sum(1 for score in scores if score >= pays_at) * 2 > len(scores)
