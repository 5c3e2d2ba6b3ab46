"""Load benchmark of the real bot against the local Bot API emulator (``python -m bench``).

The bot runs as its own process (``python -m bot run``) against an emulator served by the
benchmark process on 127.0.0.1; a bare aiogram bot (:mod:`bench.bare_bot`) is measured the same
way in the same run, so every target is a ratio to what aiogram itself costs on this machine.
See ``docs/performance.md``.
"""
