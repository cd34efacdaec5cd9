"""Shared pieces of the Bedrock RFT reward Lambdas.

A task's reward is a pure `score(response_text, reference, sample) -> Score | float`; this
package supplies everything else: parsing the Bedrock batch (`parse_sample`), the handler with
the contract's guarantees, Powertools logs and EMF metrics (`make_handler`,
`make_batch_handler`), and the number and anchored-answer readers the RLVR rewards share
(`rft_reward.numbers`, `rft_reward.answers`).
"""

from rft_reward.handler import RewardHandler, make_batch_handler, make_handler
from rft_reward.reward_input import Sample, SampleError, parse_sample
from rft_reward.reward_output import Score

__all__ = [
    "RewardHandler",
    "Sample",
    "SampleError",
    "Score",
    "make_batch_handler",
    "make_handler",
    "parse_sample",
]
