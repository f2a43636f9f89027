"""Allow ``python -m seatcast``."""

import sys

from seatcast.cli import main

sys.exit(main())
