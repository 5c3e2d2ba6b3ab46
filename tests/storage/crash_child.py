"""Child process for the crash-injection test: store one report (acknowledged), then die with
os._exit at the named point of a second submission, as a kill -9 would."""

from __future__ import annotations

import asyncio
import os
import sys

from storage.keys import parse_public_key
from storage.report import Report
from storage.vault import Vault

CRASH_EXIT = 77


async def main(db: str, recipient: str, crash_at: str) -> None:
    armed = False

    def hook(point: str) -> None:
        if armed and point == crash_at:
            os._exit(CRASH_EXIT)

    vault = await Vault.open(db, recipients=[parse_public_key(recipient)], crash_hook=hook)
    day = vault.today().isoformat()
    first = await vault.store(Report(language="ru", answers={"text": "first"}, received_day=day))
    # Acknowledged: this is what the bot would now tell the user.
    print(first.hex, flush=True)
    armed = True
    await vault.store(Report(language="ru", answers={"text": "second"}, received_day=day))
    sys.exit(1)  # the hook should have killed us


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
