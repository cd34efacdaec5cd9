"""Progress lines on stderr for large inputs.

Plain lines rather than a redrawn bar: data_prep runs inside `cdk synth`, whose output is
often captured to a log where carriage-return animation turns into noise. Small inputs
print nothing, so the common case stays quiet.
"""

from __future__ import annotations

import sys
from typing import TextIO

#: Inputs at most this large finish in well under a second; no progress lines for them.
QUIET_BELOW = 5_000


class Progress:
    """Counts work items and prints a line every `every` items."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        every: int = QUIET_BELOW,
        enabled: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.every = every
        self.enabled = enabled and (total is None or total > every)
        self.stream = stream
        self.count = 0

    def tick(self, n: int = 1) -> None:
        before = self.count
        self.count += n
        if self.enabled and self.count // self.every > before // self.every:
            of = f"/{self.total:,}" if self.total is not None else ""
            print(
                f"data_prep: {self.label} {self.count:,}{of} rows", file=self.stream or sys.stderr, flush=True
            )
