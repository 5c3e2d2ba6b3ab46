"""`python -m caseworker`."""

from __future__ import annotations

import sys

from caseworker.cli import main

sys.exit(main())
