"""`python -m hadar …`: the same as the `hadar` command."""

import sys

from hadar.cli import main

sys.exit(main())
