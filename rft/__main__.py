"""`python -m rft ...`, the same as the `rft` console script."""

from rft.cli import main

main()
