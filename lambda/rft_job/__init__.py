"""Launches, keeps and stops the Bedrock reinforcement fine-tuning (RFT) job behind a CloudFormation
custom resource.

CloudFormation has no resource type for model customization jobs, and a job runs for hours while a
custom resource may take at most one, so the resource only *launches* the job and returns; its
physical id is the job name (Nova) or the job name and the service's job id (open-weight models,
`Backend: mantle`, through Bedrock's OpenAI-compatible API: `mantle.py`, with the `rft_mantle`
client). `backends.py` is the seam; the behaviour both share is in `handler.py`. `handler.on_event` is the entry point for
`aws_cdk.custom_resources.Provider(on_event_handler=...)`. Parsing, naming and request building are
pure modules, testable without AWS; the CDK app loads `naming.py` by path for the job-name prefix.
"""
