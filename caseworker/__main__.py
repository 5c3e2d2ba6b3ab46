"""`python -m caseworker`."""

from __future__ import annotations

import sys

from caseworker.cli import main
from storage.nodump import forbid_core_dumps

# Guarded: the desk's decryption workers start as fresh processes that import this module again.
if __name__ == "__main__":
    # Decrypted reports and the unlocked private key must never be written out in a core file.
    forbid_core_dumps()
    sys.exit(main())
