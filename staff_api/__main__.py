"""``python -m staff_api serve``: run the staff API until SIGINT or SIGTERM; ``health``: ask it
how it is (for container health checks and the operator)."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import signal
import sys
import urllib.error
import urllib.request
from collections import Counter
from typing import TextIO

from staff_api.app import build_app
from staff_api.auth import REFUSED
from staff_api.config import Address, ConfigError, Settings, load_listen, load_settings
from storage.errors import StorageError
from storage.staff_store import StaffStore

log = logging.getLogger("staff_api")
# Refused requests are counted, and the totals logged about once an hour: a line per refusal
# would let a flood fill the log, and would say when someone knocked.
REFUSAL_REPORT_SECONDS = 3600.0
HEALTH_TIMEOUT = 5.0


class WithoutDetail(logging.Filter):
    """aiohttp logs a refused or failed request with its traceback, whose messages can quote the
    request: keep the exception's type, drop its text and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}: {type(record.exc_info[1]).__name__}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(level: str) -> None:
    """Plain lines on stderr, no timestamps, no access log: a line must not say when anyone
    did anything (the audit log, by day, is in the vault)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(WithoutDetail())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").disabled = True


async def serve(settings: Settings) -> int:
    """Open the vault and serve until cancelled."""
    from aiohttp import web

    store = await StaffStore.open(settings.vault_path)
    app = build_app(settings, store)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        host, port = runner.addresses[0][:2]
        log.warning(
            "staff API listening on http://%s:%d (%d caseworker key(s) can sign in)",
            host,
            port,
            len(settings.by_fingerprint()),
        )
        reporter = asyncio.ensure_future(_report_refusals(app[REFUSED]))
        await stop.wait()
        reporter.cancel()
        _log_refusals(app[REFUSED])
        log.warning("staff API stopping")
    finally:
        await runner.cleanup()
        await store.close()
    return 0


def _log_refusals(counts: Counter[str]) -> None:
    if counts:
        log.warning(
            "refused requests: %s", ", ".join(f"{k} ×{n}" for k, n in sorted(counts.items()))
        )
        counts.clear()


async def _report_refusals(counts: Counter[str]) -> None:
    while True:
        await asyncio.sleep(REFUSAL_REPORT_SECONDS)
        _log_refusals(counts)


def health_url(listen: Address) -> str:
    """Where the running staff API answers its health check: ``STAFF_API_LISTEN``, with an
    address that listens everywhere (``0.0.0.0``, ``::``, as in a container) asked on loopback."""
    address = ipaddress.ip_address(listen[0])
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{host}:{listen[1]}/v1/health"


def health(listen: Address, out: TextIO | None = None) -> int:
    """GET /v1/health of the staff API running on ``listen``: prints its status (``ok``);
    0 when healthy, 1 when not, 2 when there is no fixed address to ask."""
    out = out or sys.stdout
    if listen[1] == 0:
        print("STAFF_API_LISTEN has port 0 (any free port): no address to ask", file=sys.stderr)
        return 2
    url = health_url(listen)
    try:
        with urllib.request.urlopen(url, timeout=HEALTH_TIMEOUT) as response:  # noqa: S310 - http, built above
            out.write(f"{json.loads(response.read())['status']}\n")
            return 0
    except urllib.error.HTTPError as exc:
        try:
            out.write(f"{json.loads(exc.read())['status']}\n")
        except (ValueError, KeyError, TypeError):
            out.write(f"{exc.code}\n")
    except (urllib.error.URLError, OSError) as exc:
        out.write(f"no answer from {url}: {getattr(exc, 'reason', exc)}\n")
    except (ValueError, KeyError, TypeError):
        out.write(f"not the staff API at {url}\n")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m staff_api",
        description="The staff API: signed sync of sealed reports and case events for the desk.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser(
        "serve",
        help="serve until stopped (needs STAFF_API_ENABLED=true)",
        description="Serve on STAFF_API_LISTEN (default 127.0.0.1:8787) over VAULT_PATH, for "
        "the keys in REPORT_RECIPIENTS. Settings come from the environment and a .env file.",
    )
    sub.add_parser(
        "health",
        help="ask the running staff API's /v1/health (STAFF_API_LISTEN); 0 when healthy",
        description="GET /v1/health from the staff API running on STAFF_API_LISTEN (default "
        "127.0.0.1:8787; asked on loopback when it listens on every address): prints its "
        "status, exits 0 when it is healthy and 1 otherwise (for container health checks). "
        "Needs no other setting.",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "health":
            return health(load_listen())
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if not settings.enabled:
        print("the staff API is off: set STAFF_API_ENABLED=true to serve it", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        return asyncio.run(serve(settings))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 0
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
