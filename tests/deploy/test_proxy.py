"""The TLS proxy (deploy/Caddyfile) in front of the bot and the staff API.

The staff API's requests are signed over their method, path and query (RFC 9421), so the proxy
must serve it at the root of its own host name and pass every path unchanged, on the port the
staff API listens on; the webhook is passed only from Telegram's networks. The files' shape is
checked everywhere, and the guide's own Caddy command (docs/operating.md, section 6) is run on the
shipped Caddyfile. Where Caddy is installed (Debian: `apt-get install caddy`), that result is
served by the real Caddy, and the desk's real client syncs through it from a real staff API
process; plain http on loopback stands in for TLS.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from configparser import ConfigParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from caseworker.desk.source import RemoteSource
from staff_api.config import DEFAULT_LISTEN
from storage import Report, generate_keypair, open_envelope
from storage.signing import sign_request
from storage.vault import Vault, utc_today
from tests.deploy.test_guide import Background, free_ports

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
GUIDE = ROOT / "docs" / "operating.md"
# Directives that would change the path or send part of the host elsewhere.
REWRITES = {"handle_path", "uri", "rewrite", "route", "handle", "redir", "respond", "map"}


def sites(caddyfile: str) -> dict[str, list[str]]:
    """The top-level blocks of a Caddyfile (site address -> its lines, stripped, no comments);
    the global options block is under ``""``."""
    blocks: dict[str, list[str]] = {}
    depth, current = 0, ""
    for raw in caddyfile.splitlines():
        line = raw.split("#", 1)[0].strip() if not raw.strip().startswith("#") else ""
        if not line:
            continue
        if depth == 0 and line.endswith("{"):
            current = line[:-1].strip()
            blocks[current] = []
        elif depth > 0 and not (depth == 1 and line == "}"):
            blocks[current].append(line)
        depth += line.count("{") - line.count("}")
    return blocks


def env_example(name: str) -> dict[str, str]:
    parser = ConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string("[env]\n" + (DEPLOY / name).read_text())
    return dict(parser["env"])


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def guide_caddy_command() -> str:
    """The `sed` that writes /etc/caddy/Caddyfile in the guide's block marked `guide: caddy`."""
    text = GUIDE.read_text(encoding="utf-8")
    block = re.search(r"<!-- guide: caddy -->\n```sh\n(.*?)```", text, re.DOTALL)
    assert block is not None, "docs/operating.md lost its Caddy block"
    joined = block[1].replace("\\\n", " ")
    (command,) = [line for line in joined.splitlines() if line.startswith("sed ")]
    return command


def write_host_caddyfile(into: Path, bot_site: str, staff_site: str, ports: dict[str, str]) -> Path:
    """Run the guide's command as written, but for this machine: the source is this checkout,
    the output a file of the test's, the host names loopback addresses; then the upstreams'
    ports in what it wrote are moved to free ones (the machine is shared)."""
    target = into / "Caddyfile"
    command = (
        guide_caddy_command()
        .replace("/opt/safe-report-bot/src", str(ROOT))
        .replace("/etc/caddy/Caddyfile", str(target))
        .replace("YOUR-BOT-DOMAIN", bot_site)
        .replace("YOUR-STAFF-DOMAIN", staff_site)
        .replace("/YOUR-RANDOM-PATH", "/telegram-hook")
    )
    subprocess.run(["bash", "-euo", "pipefail", "-c", command], check=True)
    text = target.read_text()
    for port, free in ports.items():
        text = text.replace(
            f"reverse_proxy 127.0.0.1:{port}\n", f"reverse_proxy 127.0.0.1:{free}\n"
        )
    target.write_text(text)
    return target


def test_the_proxy_sends_only_telegram_to_the_webhook_and_logs_nothing() -> None:
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    bot = sites(caddyfile)["{$BOT_DOMAIN}"]
    assert "path {$WEBHOOK_PATH}" in bot
    assert "remote_ip 149.154.160.0/20 91.108.4.0/22" in bot  # Telegram's networks
    assert "reverse_proxy bot:8080" in bot
    assert not re.search(r"^\s*log\b", caddyfile, re.MULTILINE)  # no access log
    assert port_of(compose()["services"]["bot"]["environment"]["WEBHOOK_LISTEN"]) == 8080


def test_the_staff_api_is_served_whole_at_the_root_of_its_own_host_name() -> None:
    staff = sites((DEPLOY / "Caddyfile").read_text())["{$STAFF_DOMAIN}"]
    directives = {line.split()[0] for line in staff}
    assert not directives & REWRITES, staff  # every path and query passed as signed
    assert not [line for line in staff if line.startswith("@")], staff  # no matcher: all of it
    (proxy,) = [line for line in staff if line.startswith("reverse_proxy")]
    assert proxy == "reverse_proxy staff-api:8787"
    # The port it proxies to is where the staff API listens, in every layout.
    staff_service = compose()["services"]["staff-api"]["environment"]
    assert port_of(staff_service["STAFF_API_LISTEN"]) == 8787
    assert env_example("staff-api.env.example")["STAFF_API_LISTEN"] == DEFAULT_LISTEN
    assert port_of(DEFAULT_LISTEN) == 8787
    assert compose()["services"]["caddy"]["environment"]["STAFF_DOMAIN"] == "${STAFF_DOMAIN}"


def test_the_guides_caddy_command_points_each_site_at_its_services_listen_setting(
    tmp_path: Path,
) -> None:
    written = write_host_caddyfile(tmp_path, "bot.example.org", "staff.example.org", {})
    blocks = sites(written.read_text())
    assert set(blocks) == {"", "bot.example.org", "staff.example.org"}
    bot_listen = env_example("bot.env.example")["WEBHOOK_LISTEN"]
    staff_listen = env_example("staff-api.env.example")["STAFF_API_LISTEN"]
    assert f"reverse_proxy {bot_listen}" in blocks["bot.example.org"]
    assert "path /telegram-hook" in blocks["bot.example.org"]
    assert f"reverse_proxy {staff_listen}" in blocks["staff.example.org"]
    # Both services read one team and one vault.
    bot_env, staff_env = env_example("bot.env.example"), env_example("staff-api.env.example")
    for shared in ("REPORT_RECIPIENTS", "VAULT_PATH"):
        assert bot_env[shared] == staff_env[shared], shared


def wait_for_port(port: int, process: subprocess.Popen[str], timeout: float = 30) -> None:
    """Return once something accepts connections on ``port`` (Caddy says nothing when ready)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode}"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def get(port: int, method: str, target: str, headers: dict[str, str] | None = None) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, target, headers=headers or {})
        response = conn.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        return response
    finally:
        conn.close()


@pytest.fixture
def running() -> Iterator[dict[str, Background]]:
    started: dict[str, Background] = {}
    yield started
    for background in started.values():
        background.close()


def start(name: str, command: list[str], env: dict[str, str], cwd: Path) -> Background:
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return Background(name, process)


async def test_the_desk_syncs_through_caddy_from_a_real_staff_api(
    tmp_path: Path, running: dict[str, Background]
) -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("Caddy is not installed here (Debian: apt-get install caddy)")
    key = generate_keypair()
    vault = tmp_path / "vault" / "reports.sqlite3"
    vault.parent.mkdir()
    async with await Vault.open(vault, recipients=[key.public]) as opened:
        report_id = await opened.store(
            Report(
                language="en", answers={"story": "through the proxy"}, received_day=str(utc_today())
            )
        )
    bot_site, staff_site, webhook, staff_api = free_ports(4)
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "STAFF_API_ENABLED": "true",
        "STAFF_API_LISTEN": f"127.0.0.1:{staff_api}",
        "VAULT_PATH": str(vault),
        "REPORT_RECIPIENTS": key.public.text,
    }
    running["staff-api"] = start(
        "staff-api", [sys.executable, "-m", "staff_api", "serve"], env, tmp_path
    )
    running["staff-api"].wait_for("staff API listening on")

    caddyfile = write_host_caddyfile(
        tmp_path,
        f"http://127.0.0.1:{bot_site}",
        f"http://127.0.0.1:{staff_site}",
        {"8080": webhook, "8787": staff_api},
    )
    # The shared machine: listen on loopback only (the file as shipped binds every address).
    text = caddyfile.read_text().replace("admin off", "admin off\n\tdefault_bind 127.0.0.1", 1)
    caddyfile.write_text(text)
    caddy_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "caddy-data"),
        "XDG_CONFIG_HOME": str(tmp_path / "caddy-config"),
    }
    running["caddy"] = start(
        "caddy",
        [caddy, "run", "--adapter", "caddyfile", "--config", str(caddyfile)],
        caddy_env,
        tmp_path,
    )
    for port in (bot_site, staff_site):
        await asyncio.to_thread(wait_for_port, int(port), running["caddy"].process)

    # The desk's own client, signing every request, through the proxy.
    desk = RemoteSource(f"http://127.0.0.1:{staff_site}", key)
    try:
        assert [k.fingerprint for k in await desk.team()] == [key.public.fingerprint]
        index = await desk.index(None)  # a query string, signed and passed as it was
        assert [r.id for r in index.reports] == [report_id]
        fetched = await desk.fetch([report_id], [])  # a body and its signed digest
        opened_report = open_envelope(fetched.reports[report_id], report_id, key)
        assert opened_report.answers["story"] == "through the proxy"
    finally:
        await desk.close()

    health = get(int(staff_site), "GET", "/v1/health")
    assert health.status == 200 and json.loads(health.body)["status"] == "ok"
    assert health.getheader("Server") is None  # neither Caddy's nor aiohttp's name
    # What a prefix stripped on the way would do: the path signed is not the path served.
    signed_for_prefix = sign_request(key, "GET", f"http://127.0.0.1:{staff_site}/staff/v1/team")
    assert get(int(staff_site), "GET", "/v1/team", signed_for_prefix).status == 401
    # The bot's host name: the webhook only from Telegram's networks, nothing else at all.
    assert get(int(bot_site), "POST", "/telegram-hook").status == 404
    assert get(int(bot_site), "GET", "/v1/health").status == 404

    for name in ("caddy", "staff-api"):
        os.killpg(running[name].process.pid, signal.SIGTERM)
        assert running[name].process.wait(timeout=30) == 0, running[name].text()[-2000:]
    assert "Traceback" not in running["staff-api"].text()
