"""FinQA reward Lambda: `finqa_reward.handler.lambda_handler`."""
