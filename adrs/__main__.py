import sys

from adrs.cli import main

sys.exit(main())
