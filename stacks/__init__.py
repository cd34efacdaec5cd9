"""CDK side of bedrock-rft: the RftPipeline construct and the per-task stacks (no scoring logic here)."""
