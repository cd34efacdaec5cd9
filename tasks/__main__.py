"""`python -m tasks names|stacks`: the registered task or stack names, space-separated (for the Makefile)."""

import sys

from tasks import names, stack_names

LISTS = {"names": names, "stacks": stack_names}

if len(sys.argv) != 2 or sys.argv[1] not in LISTS:
    sys.exit("usage: python -m tasks names|stacks")
print(" ".join(LISTS[sys.argv[1]]()))
