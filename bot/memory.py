"""Give memory back to the system after many conversations ended at once.

Python frees the objects of wiped sessions, but the C allocator keeps the pages for reuse, so a
burst of 50,000 conversations would hold its peak memory forever. glibc's ``malloc_trim`` returns
the free pages; elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return None
    return trim


def give_back() -> bool:
    """Return free heap pages to the system; whether the platform could."""
    trim = _trim()
    if trim is None:
        return False
    trim(0)
    return True
