"""The package's one error type: a problem with the input the caller can fix, worded as its fix.

`rft` turns it into its `UserError` (a one-line message, no traceback); the workflow's handlers let it
fail the state, so Step Functions publishes the message as the failure's cause.
"""

from __future__ import annotations


class EvalInputError(ValueError):
    """Bad data, settings or handler string: the message says what is wrong and what to do."""
