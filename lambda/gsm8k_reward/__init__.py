"""GSM8K reward Lambda: `gsm8k_reward.handler.lambda_handler`."""
