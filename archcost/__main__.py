"""``python -m archcost``."""

from __future__ import annotations

import sys

from archcost.cli import main

if __name__ == "__main__":  # a process pool's workers import this module too (--jobs)
    sys.exit(main())
