"""Lambda entry point `gsm8k_reward.handler.lambda_handler`; the scoring rules are in `scoring`."""

from rft_reward import make_handler

from gsm8k_reward.scoring import score

lambda_handler = make_handler(score, task="gsm8k")
