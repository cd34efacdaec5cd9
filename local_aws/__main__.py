"""Entry point: `python -m local_aws <command>` (see `local_aws.cli`)."""

import sys

from local_aws.cli import main

sys.exit(main())
