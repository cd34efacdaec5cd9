"""A small client for Bedrock's OpenAI-compatible API ("bedrock-mantle"), signed with SigV4.

Open-weight RFT (gpt-oss, Qwen3) runs through `https://bedrock-mantle.<region>.api.aws/v1`: the Files
API and the fine-tuning jobs API (docs/open-weight.md). The OpenAI SDK would need a bearer API key;
this client signs every request with the caller's own AWS credentials instead (SigV4, service
`bedrock-mantle`), so no long-lived key exists anywhere. Only botocore and urllib3 (both in every
Lambda Python runtime), so the job function, the CLI and the emulator's tests share one client.
"""

from rft_mantle.client import (
    DEFAULT_TIMEOUT,
    ENDPOINT_ENV,
    SIGNING_SERVICE,
    MantleClient,
    MantleError,
    default_endpoint,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "ENDPOINT_ENV",
    "SIGNING_SERVICE",
    "MantleClient",
    "MantleError",
    "default_endpoint",
]
