"""The CLI's failure vocabulary: every expected failure is a `UserError` with a one-line fix.

Commands raise these and `rft.cli` prints them as `error: ...` with the exit code, never a traceback.
A traceback means a bug in the CLI itself.
"""

from __future__ import annotations

# Exit codes, so scripts and CI can tell a broken setup from a bad reward or a failed job.
EXIT_ERROR = 1  # a user mistake or an environment problem (missing file, no credentials, ...)
EXIT_DEGENERATE = 3  # `rft rehearse`: the reward cannot teach anything; `rft invoke`: it breaks the contract
EXIT_JOB_FAILED = 4  # `rft status`: the job ended in Failed
EXIT_JUDGE_FAILED = 5  # `rft invoke`, `rft rehearse --judge bedrock`: the judge graded none of its samples
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """A mistake the user can fix; the message says what happened and what to do."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
