"""Lambda entry point `finqa_reward.handler.lambda_handler`; the scoring rules are in `scoring`."""

from rft_reward import make_handler

from finqa_reward.scoring import score

lambda_handler = make_handler(score, task="finqa")
