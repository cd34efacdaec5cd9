"""Bedrock's OpenAI-compatible fine-tuning API (`bedrock-mantle`), emulated beside moto.

`sigv4` verifies each request's signature, `app` serves the `/v1` paths, `service` keeps files and
jobs and rehearses training (the grader Lambda really runs; responses are replays, see `replay`),
`grader` connects it to the emulator's Lambda. The emulator mounts it beside moto on the same
port (its paths are its own), so `AWS_ENDPOINT_URL_BEDROCK_MANTLE`, set for every emulated function
and by `python -m local_aws env`, is the emulator's endpoint.
"""
