"""``python -m storage backup OUT`` / ``restore IN`` / ``verify FILE``: the vault's safety net.

The vault is ``--vault PATH``, else the ``VAULT_PATH`` environment variable (as the bot reads it).
Run these as the bot's user, so that files keep their owner and owner-only modes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from storage.backup import Copied, backup, restore, verify
from storage.errors import StorageError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m storage",
        description="Back up, check and restore the report vault (ciphertext only).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    vault_help = "the vault (default: the VAULT_PATH environment variable)"
    made = sub.add_parser(
        "backup",
        help="copy the vault, even while the bot runs, and check the copy",
        description="Copy the vault to OUT (a new file) with SQLite's online backup, then check "
        "the copy: integrity, schema version, the number of reports, every envelope well-formed.",
    )
    made.add_argument("out", type=Path, metavar="OUT")
    made.add_argument("--vault", type=Path, help=vault_help)
    back = sub.add_parser(
        "restore",
        help="put a backup in place of the vault (the bot and the staff API stopped)",
        description="Check IN, migrate it to this software's schema and put it in place as the "
        "vault. Refuses a backup from newer software, a vault in use, and a vault that holds "
        "reports unless --replace.",
    )
    back.add_argument("backup", type=Path, metavar="IN")
    back.add_argument("--vault", type=Path, help=vault_help)
    back.add_argument("--replace", action="store_true", help="replace a vault that holds reports")
    check = sub.add_parser("verify", help="check a vault or a backup file")
    check.add_argument("file", type=Path, metavar="FILE")
    return parser


def _vault(given: Path | None) -> Path:
    if given is not None:
        return given
    env = os.environ.get("VAULT_PATH")
    if not env:
        raise StorageError("give --vault PATH or set VAULT_PATH")
    return Path(env)


def _say(verb: str, copied: Copied) -> str:
    return (
        f"{verb} {copied.path}: {copied.reports} report(s), schema version "
        f"{copied.schema_version}, {copied.size} bytes, checked"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: one line on success, one line on stderr and status 1 on failure."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "backup":
            print(_say("backed up to", backup(_vault(args.vault), args.out)))
        elif args.command == "restore":
            print(_say("restored", restore(args.backup, _vault(args.vault), replace=args.replace)))
        else:
            print(_say("verified", verify(args.file)))
    except StorageError as exc:
        print(f"{args.command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
