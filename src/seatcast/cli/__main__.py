"""Allow ``python -m seatcast.cli``."""

import sys

from seatcast.cli import main

sys.exit(main())
