"""`python -m cli …`: the `videobot` command."""

import sys

from cli.commands import main

sys.exit(main())
