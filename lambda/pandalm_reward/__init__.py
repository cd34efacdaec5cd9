"""PandaLM reward Lambda (RLAIF): `pandalm_reward.handler.lambda_handler`."""
