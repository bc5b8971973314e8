"""`python -m qa.cli`: the `qa` command without its installed script."""

import sys

from qa.cli.commands import main

sys.exit(main())
