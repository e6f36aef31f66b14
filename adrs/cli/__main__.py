"""`python -m adrs.cli`, as the `adrs` script."""

import sys

from adrs.cli import main

sys.exit(main())
