"""Keep a process that holds secrets out of core dumps.

CPython never zeroes freed memory: after a conversation ends, her words, name and chat id can
stay in the bot's heap until reused, and the caseworker's console holds decrypted reports and
her private key. A core dump would write all of that to disk. So both processes, first thing,
set the core size limit to zero and mark themselves not dumpable (which also keeps other
processes of the same user from reading their memory through /proc or ptrace).

What this cannot do is said in docs/threat-model.md: swap, a hypervisor, root on a running
server.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def forbid_core_dumps() -> list[str]:
    """Set ``RLIMIT_CORE`` to 0 and ``PR_SET_DUMPABLE`` to 0 where the platform has them.

    Returns what could not be done (an empty list when everything held), for one warning line;
    never raises: a bot that cannot harden itself still starts, and says so.
    """
    failed: list[str] = []
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        failed.append("RLIMIT_CORE=0")
    if sys.platform.startswith("linux") and _prctl(PR_SET_DUMPABLE, 0) != 0:
        failed.append("PR_SET_DUMPABLE=0")
    return failed


def is_dumpable() -> bool | None:
    """Whether this process may dump core (Linux's ``PR_GET_DUMPABLE``); ``None`` elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    return _prctl(PR_GET_DUMPABLE, 0) != 0


def _prctl(option: int, value: int) -> int:
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return -1
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        result: int = libc.prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        return -1
    return result
