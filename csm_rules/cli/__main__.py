"""``python -m csm_rules.cli``."""

import sys

from csm_rules.cli import main

sys.exit(main())
