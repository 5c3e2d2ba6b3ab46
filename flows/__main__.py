"""``python -m flows check`` checks the content; ``python -m flows update`` adds new msgids."""

from __future__ import annotations

import argparse
import sys

from flows.catalog import LOCALES_DIR, po_path, read_catalog
from flows.check import check
from flows.messages import used_msgids
from flows.schema import LANGUAGES


def _check() -> int:
    problems = check()
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("content is sound: flows, screens and kk/ru/en catalogs check out")
    return 0


def _update() -> int:
    """Add new msgids to every catalog (empty, for translators) and report unused ones."""
    from babel.messages.pofile import write_po

    used = used_msgids()
    for lang in LANGUAGES:
        catalog = read_catalog(lang)
        added = [m for m in used if m not in catalog]
        for msgid in added:
            file, _, line = used[msgid][0].rpartition(":")
            catalog.add(msgid, "", locations=[(file, int(line))])
        unused = [m.id for m in catalog if m.id and m.id not in used]
        with po_path(lang, LOCALES_DIR).open("wb") as f:
            write_po(f, catalog, width=100, sort_output=True, omit_header=False)
        print(f"{lang}: {len(added)} added, unused: {', '.join(map(str, unused)) or 'none'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="check flows and translations; non-zero exit on any problem")
    sub.add_parser("update", help="add new msgids to the kk/ru/en catalogs for translation")
    args = parser.parse_args(argv)
    return _check() if args.command == "check" else _update()


if __name__ == "__main__":
    sys.exit(main())
