"""``python -m csm_rules``: the csm-rules command line."""

import sys

from csm_rules.cli import main

sys.exit(main())
