"""`python -m caseworker`."""

from __future__ import annotations

import sys

from caseworker.cli import main
from storage.nodump import forbid_core_dumps

# Decrypted reports and the unlocked private key must never be written out in a core file.
forbid_core_dumps()
sys.exit(main())
