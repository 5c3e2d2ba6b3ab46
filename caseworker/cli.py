"""`python -m caseworker`: the command line. A thin top level: each command is a small function,
and `main` is the one place that turns an error into one line on stderr and an exit code."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TextIO

from caseworker import export, passphrase, stats
from caseworker.errors import ConsoleError, ExitCode
from caseworker.opening import Failures, Opened, open_all
from caseworker.render import human_size, render_report, safe_filename
from storage.atomicfile import write_atomic
from storage.envelope import open_envelope
from storage.errors import StorageError
from storage.keys import (
    DEFAULT_KIND,
    KEY_KINDS,
    PUBLIC_KEY_PREFIX,
    SIGNING_PUBLIC_KEY_PREFIX,
    PrivateKey,
    PublicKey,
    generate_keypair,
    load_recipients,
    parse_public_key,
    read_key_file_info,
    read_private_key_file,
    read_public_key_of_key_file,
    upgrade_keypair,
    write_private_key_file,
)
from storage.vault import VaultReader, purge_file, utc_today

Command = Callable[[argparse.Namespace, TextIO, TextIO], ExitCode]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def _load_key(args: argparse.Namespace) -> PrivateKey:
    # Check the file before asking for a passphrase: no point typing it for a missing file.
    read_public_key_of_key_file(args.key)
    return read_private_key_file(args.key, passphrase.get_existing(args.passphrase_file))


def cmd_keygen(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    """Create a private key file and print the public key for the operator."""
    if args.out.exists():
        raise ConsoleError(f"{args.out} exists; refusing to overwrite a key (reports need it)")
    secret = passphrase.get_new(args.passphrase_file)
    key = generate_keypair(args.kind)
    write_private_key_file(args.out, key, secret, name=args.name)
    out.write(f"private key written to {args.out} (keep it, and its passphrase, safe)\n")
    out.write(f"public key:  {key.public.text}\n")
    out.write(f"fingerprint: {key.public.fingerprint}\n")
    return ExitCode.OK


def cmd_pubkey(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    """Print the public key and fingerprint of a key file (no passphrase needed)."""
    info = read_key_file_info(args.key)
    public = info.public
    out.write(f"public key:  {public.text}\nfingerprint: {public.fingerprint}\n")
    if info.name:
        out.write(f"name:        {info.name}\n")
    if not public.can_sign:
        out.write(
            "version 1 key: it receives reports but cannot use the desk's sync; run upgrade-key\n"
        )
    return ExitCode.OK


def cmd_upgrade_key(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    """Add a signing key to a version 1 key file, in place; the reports it reads stay readable."""
    info = read_key_file_info(args.key)
    if info.public.can_sign:
        out.write(f"{args.key} is already a version 2 key (it can sign); nothing changed\n")
        return ExitCode.OK
    secret = passphrase.get_existing(args.passphrase_file)
    key = upgrade_keypair(read_private_key_file(args.key, secret))
    # All-or-nothing replace: the file is the old key or the new one, never half of either, and
    # the new one holds the same HPKE key, so every report sealed to the old line still opens.
    write_private_key_file(args.key, key, secret, name=args.name, overwrite=True)
    out.write(f"{args.key} upgraded to a version 2 key (same key for reports, now able to sign)\n")
    out.write(f"public key:  {key.public.text}\n")
    out.write(f"fingerprint: {key.public.fingerprint}\n")
    out.write("give the operator this line to replace your srk1-... line in REPORT_RECIPIENTS\n")
    return ExitCode.OK


def cmd_fingerprint(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    """Print the fingerprint of each public key given: a key line, or a file of key lines, or
    a private key file (its public key is read without the passphrase)."""
    for source in args.keys:
        for key in keys_named_by(source):
            out.write(f"{key.fingerprint}  {key.kind}  {_shorten(source)}\n")
    return ExitCode.OK


def keys_named_by(source: str) -> list[PublicKey]:
    """The public keys a ``fingerprint`` argument stands for."""
    if source.strip().startswith((PUBLIC_KEY_PREFIX, SIGNING_PUBLIC_KEY_PREFIX)):
        return [parse_public_key(source)]
    path = Path(source)
    if not path.is_file():
        raise ConsoleError(f"not a public key (srk1-/srk2-...) nor a file: {_shorten(source)}")
    if path.read_bytes()[:1] == b"{":
        return [read_public_key_of_key_file(path)]
    return load_recipients(str(path))


def _shorten(text: str) -> str:
    text = text.strip()
    return text if len(text) <= 48 else f"{text[:40]}…{text[-6:]}"


def cmd_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    """List stored reports without decrypting anything."""
    with VaultReader(args.db) as reader:
        rows = reader.list_rows()
    for row in rows:
        out.write(f"{row.id}  {row.received_day}  {human_size(row.size_class):>8}\n")
    out.write(f"{len(rows)} report{'s' if len(rows) != 1 else ''}\n")
    return ExitCode.OK


def _write_attachments(folder: Path, opened: Opened) -> dict[int, Path]:
    target = folder / opened.row.id.hex
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = {}
    for index, attachment in enumerate(opened.report.attachments, start=1):
        path = target / safe_filename(index, attachment)
        write_atomic(path, attachment.data, mode=0o600)
        written[index] = path
    return written


def _show(args: argparse.Namespace, opened: Opened, out: TextIO) -> None:
    written = _write_attachments(args.attachments, opened) if args.attachments else None
    out.write(render_report(opened.row, opened.report, written) + "\n")


def _finish(failures: Failures, err: TextIO) -> ExitCode:
    if failures.count == 0:
        return ExitCode.OK
    err.write(f"error: {failures.summary()}\n")
    return ExitCode.FAILURE if failures.count == failures.total else ExitCode.PARTIAL


def cmd_read(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    """Decrypt and show one report (or all with --all)."""
    if (args.id is None) == (not args.all):
        raise ConsoleError("give a report id, or --all")
    with VaultReader(args.db) as reader:
        if args.id is not None:
            row = reader.fetch(args.id)
            key = _load_key(args)
            _show(args, Opened(row=row, report=open_envelope(row.envelope, row.id, key)), out)
            return ExitCode.OK
        key = _load_key(args)
        failures = Failures()
        for number, opened in enumerate(open_all(reader, key, failures, progress=err, label="")):
            if number:
                out.write("\n")
            _show(args, opened, out)
    return _finish(failures, err)


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    """Decrypt every report and write them to one JSON or CSV file."""
    with VaultReader(args.db) as reader:
        key = _load_key(args)
        failures = Failures()
        opened = list(open_all(reader, key, failures, progress=err, label="decrypting "))
    if args.format == "json":
        data = export.to_json(opened, with_attachments=args.with_attachments)
    else:
        data = export.to_csv(opened)
    export.write_export(args.out, data)
    out.write(f"exported {len(opened)} reports to {args.out}\n")
    return _finish(failures, err)


def cmd_stats(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    """Count reports by month, region and form of violence, from decrypted data, locally."""
    with VaultReader(args.db) as reader:
        key = _load_key(args)
        failures = Failures()
        result = stats.compute(
            o.report for o in open_all(reader, key, failures, progress=err, label="")
        )
    if args.format == "json":
        out.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=1) + "\n")
    else:
        out.write(result.as_text() + "\n")
    return _finish(failures, err)


def cmd_purge(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    """Delete reports whose retention period ended (needs write access to the database)."""
    deleted = purge_file(args.db, today=args.today or utc_today())
    out.write(f"purged {deleted} expired report{'s' if deleted != 1 else ''}\n")
    return ExitCode.OK


# Where `python3 dev.py run` (the sandbox) leaves its caseworker key and staff API address.
SANDBOX = Path(__file__).resolve().parent.parent / "var" / "sandbox"


def _desk_target(args: argparse.Namespace) -> tuple[Path, str | None, Path | None, Path | None]:
    """(key, server, db, cache) from the command line, or from the sandbox's note."""
    if args.sandbox:
        note = SANDBOX / "desk.json"
        try:
            found = json.loads(note.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ConsoleError(
                "no sandbox found: start it first with python3 dev.py run (no BOT_TOKEN)"
            ) from None
        return (
            Path(found["key"]),
            str(found["server"]),
            None,
            args.cache or SANDBOX / "desk-cache.sqlite3",
        )
    if args.key is None or (args.server is None) == (args.db is None):
        raise ConsoleError("give --key and one of --server URL or --db PATH (or --sandbox)")
    return args.key, args.server, args.db, args.cache


def cmd_desk(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    """Open the desk: a local web inbox in her browser, on 127.0.0.1 only."""
    import asyncio

    from caseworker.desk.cache import Cache
    from caseworker.desk.server import serve
    from caseworker.desk.source import SourceError, check_server_url
    from caseworker.desk.state import DeskConfig

    key, server, db, cache_path = _desk_target(args)
    info = read_key_file_info(key)
    if server is not None:
        try:
            server = check_server_url(server)
        except SourceError as exc:
            raise ConsoleError(str(exc).split(": ", 1)[-1]) from None
        if not info.public.can_sign:
            raise ConsoleError(
                "this key cannot sign in to the staff API: run python -m caseworker upgrade-key"
            )
    if db is not None and not db.is_file():
        raise ConsoleError(f"database not found: {db}")
    config = DeskConfig(
        key_path=key,
        key_info=info,
        server=server,
        db=db,
        team_spec=args.team or "",
        idle_minutes=args.idle_minutes,
    )
    cache = Cache(cache_path) if cache_path is not None else Cache.for_key(info.public.fingerprint)
    asyncio.run(serve(config, cache, port=args.port, browser=not args.no_browser, out=out))
    return ExitCode.OK


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {text!r}") from None
    if not 1 <= value <= 24 * 60:
        raise argparse.ArgumentTypeError("idle minutes must be between 1 and 1440")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; `--help` on any command prints help and starts nothing."""
    parser = argparse.ArgumentParser(
        prog="python -m caseworker",
        description="Read, export and count sealed reports on your own computer. Works offline.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Command, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
        p.set_defaults(func=func)
        return p

    def db(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", type=Path, required=True, help="the report database (or a copy)")

    def key(p: argparse.ArgumentParser) -> None:
        p.add_argument("--key", type=Path, required=True, help="your private key file")
        p.add_argument(
            "--passphrase-file", type=Path, help="read the passphrase from this file's first line"
        )

    p = command("keygen", cmd_keygen, "create your key pair; prints the public key to configure")
    p.add_argument("--out", type=Path, required=True, help="private key file to create")
    p.add_argument("--kind", choices=KEY_KINDS, default=DEFAULT_KIND, help="default: %(default)s")
    p.add_argument("--passphrase-file", type=Path, help="take the new passphrase from this file")
    p.add_argument("--name", default="", help="your name as colleagues see it in the desk")

    p = command("pubkey", cmd_pubkey, "show the public key and fingerprint of a key file")
    p.add_argument("--key", type=Path, required=True, help="your private key file")

    p = command(
        "fingerprint",
        cmd_fingerprint,
        "show the fingerprint of public keys (a key line, a key file, or your private key file),"
        " to compare with the one the bot logs at start",
    )
    p.add_argument("keys", nargs="+", metavar="KEY", help="srk1-... line, or a file")

    p = command(
        "upgrade-key", cmd_upgrade_key, "add a signing key to an older key file (for the desk)"
    )
    p.add_argument("--key", type=Path, required=True, help="your private key file (changed)")
    p.add_argument("--passphrase-file", type=Path, help="read the passphrase from this file")
    p.add_argument("--name", default="", help="your name as colleagues see it in the desk")

    p = command("list", cmd_list, "list stored reports (id, day, size class); needs no key")
    db(p)

    p = command("read", cmd_read, "decrypt and show one report, or all of them")
    p.add_argument("id", nargs="?", help="report id (or at least its first 4 hex digits)")
    p.add_argument("--all", action="store_true", help="show every report")
    db(p)
    key(p)
    p.add_argument("--attachments", type=Path, help="write attachments into this folder")

    p = command("export", cmd_export, "decrypt all reports into one JSON or CSV file")
    db(p)
    key(p)
    p.add_argument("--format", choices=["json", "csv"], required=True)
    p.add_argument("--out", type=Path, required=True, help="file to write (mode 0600)")
    p.add_argument(
        "--with-attachments", action="store_true", help="JSON only: include attachment content"
    )

    p = command("stats", cmd_stats, "count reports by month, region and form of violence")
    db(p)
    key(p)
    p.add_argument("--format", choices=["text", "json"], default="text")

    p = command("desk", cmd_desk, "open the desk: your inbox in your browser (127.0.0.1 only)")
    p.add_argument("--key", type=Path, help="your private key file")
    p.add_argument("--server", help="the staff API's address (https://...)")
    p.add_argument("--db", type=Path, help="or: a report database file on this computer")
    p.add_argument(
        "--sandbox", action="store_true", help="the sandbox's key and staff API (dev.py run)"
    )
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free)")
    p.add_argument("--no-browser", action="store_true", help="print the link, open nothing")
    p.add_argument("--cache", type=Path, help="the local cache file (sealed envelopes only)")
    p.add_argument(
        "--idle-minutes", type=_minutes, default=10.0, help="lock after this long idle (10)"
    )
    p.add_argument("--team", help="with --db: colleagues' public keys, to seal case notes to")

    p = command("purge", cmd_purge, "delete reports past their expiry day")
    db(p)
    p.add_argument("--today", type=_day, help="the day to purge as of (default: today, UTC)")
    return parser


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run one command; returns the exit code. The only place errors become messages."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    func: Command = args.func
    try:
        return int(func(args, out, err))
    except KeyboardInterrupt:
        if args.debug:
            raise
        err.write("interrupted\n")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # `list | head`: the reader went away; that is not an error worth a message.
        return ExitCode.OK
    except (StorageError, ConsoleError) as exc:
        if args.debug:
            raise
        err.write(f"error: {exc}\n")
    except OSError as exc:
        if args.debug:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        err.write(f"error: {exc.strerror or exc}{where}\n")
    return ExitCode.FAILURE
