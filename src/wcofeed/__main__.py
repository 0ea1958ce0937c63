"""`python -m wcofeed` runs the command line."""

import sys

from wcofeed.cli import main

sys.exit(main())
