"""``python -m archcost``."""

from __future__ import annotations

import sys

from archcost.cli import main

sys.exit(main())
