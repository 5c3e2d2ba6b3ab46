"""Child process for the two-process test: the bot's side, storing reports one by one and
printing each id only after `store` returned (acknowledged), as the bot would tell the user."""

from __future__ import annotations

import asyncio
import sys

from storage.keys import parse_public_key
from storage.report import Report
from storage.vault import Vault


async def main(db: str, recipient: str, count: str) -> None:
    async with await Vault.open(db, recipients=[parse_public_key(recipient)]) as vault:
        synchronous = await (await vault._conn.execute("PRAGMA synchronous")).fetchone()
        print(f"synchronous={synchronous[0] if synchronous else None}", flush=True)
        day = vault.today().isoformat()
        for n in range(int(count)):
            rid = await vault.store(
                Report(language="kk", answers={"story": f"report {n}"}, received_day=day)
            )
            print(rid.hex, flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
