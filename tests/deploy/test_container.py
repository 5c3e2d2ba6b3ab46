"""The container image definition and the compose file, checked where no container engine runs.

What is verified here: the image is built by the same install script the guide's test runs; it
runs as a non-root user with a health check and the vault on a volume; nothing secret or stateful
is copied into it; the compose file keeps every promise in its header. What is not: that an image
actually builds and starts (no engine here); the operator's first `docker compose up` is that test,
and docs/operating.md says so.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VAULT_DIR = "/var/lib/safe-report-bot"


def instructions() -> list[tuple[str, str]]:
    """The Containerfile as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Containerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_the_image_is_thin_over_the_tested_install_script() -> None:
    steps = instructions()
    runs = [args for word, args in steps if word == "RUN"]
    installs = [r for r in runs if "deploy/install.sh" in r]
    assert len(installs) == 1
    assert "sh /opt/safe-report-bot/src/deploy/install.sh /opt/safe-report-bot" in installs[0]
    # Nothing else installs Python packages behind the script's back.
    assert not any("pip " in r for r in runs)


def test_the_image_runs_as_a_user_of_its_own_with_a_health_check() -> None:
    steps = instructions()
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    last_user = max(i for i, (word, _) in enumerate(steps) if word == "USER")
    assert all(word not in ("RUN", "COPY") for word, _ in steps[last_user:])
    health = next(args for word, args in steps if word == "HEALTHCHECK")
    assert '"-m", "bot", "health"' in health
    volumes = [json.loads(args) for word, args in steps if word == "VOLUME"]
    assert volumes == [[VAULT_DIR]]
    env = " ".join(args for word, args in steps if word == "ENV")
    assert f"VAULT_PATH={VAULT_DIR}/" in env and "METRICS_LISTEN=127.0.0.1:" in env
    assert any(word == "STOPSIGNAL" and args == "SIGTERM" for word, args in steps)


def test_nothing_secret_or_stateful_goes_into_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    for needed in (".git", ".venv", ".venv-bot", "var", ".env", "deploy/*.env", "*.sqlite3"):
        assert needed in ignored, needed
    copies = [args for word, args in instructions() if word in ("COPY", "ADD")]
    assert copies == [". /opt/safe-report-bot/src"]


@pytest.mark.parametrize("name", ["bot", "staff-api"])
def test_the_services_that_touch_the_vault_are_locked_down(name: str) -> None:
    service = compose()["services"][name]
    assert service["read_only"] is True
    assert str(service["user"]).split(":")[0] not in ("0", "root")
    assert service["cap_drop"] == ["ALL"] and "cap_add" not in service
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["ulimits"]["core"] == 0
    assert service["memswap_limit"] == service["mem_limit"]  # no swap
    assert "ports" not in service  # nothing published: only Caddy reaches them
    assert f"vault:{VAULT_DIR}" in service["volumes"]
    assert service["image"] == "safe-report-bot:local"


def test_the_staff_api_runs_enabled_on_its_port_with_its_own_health_check() -> None:
    staff = compose()["services"]["staff-api"]
    assert staff["command"] == ["staff_api", "serve"]
    env = staff["environment"]
    assert env["STAFF_API_ENABLED"] == "true"  # without it the staff API serves nothing
    host, port = env["STAFF_API_LISTEN"].rsplit(":", 1)
    assert ipaddress.ip_address(host).is_unspecified  # its container's own network only
    assert int(port) == 8787  # what Caddy proxies to (tests/deploy/test_proxy.py)
    assert staff["healthcheck"]["test"][-3:] == ["-m", "staff_api", "health"]
    image_env = " ".join(args for word, args in instructions() if word == "ENV")
    assert f"STAFF_API_LISTEN={env['STAFF_API_LISTEN']}" in image_env


def test_the_bot_and_the_staff_api_share_one_vault_and_one_team() -> None:
    services = compose()["services"]
    bot, staff = services["bot"]["environment"], services["staff-api"]["environment"]
    assert bot["VAULT_PATH"] == staff["VAULT_PATH"]
    assert bot["REPORT_RECIPIENTS"] == staff["REPORT_RECIPIENTS"]
    team = f"./recipients:{bot['REPORT_RECIPIENTS']}:ro"
    assert team in services["bot"]["volumes"] and team in services["staff-api"]["volumes"]
    assert f"./directory.yaml:{bot['DIRECTORY_FILE']}:ro" in services["bot"]["volumes"]


def test_metrics_stay_on_loopback_and_the_bot_is_healthchecked() -> None:
    bot = compose()["services"]["bot"]
    host = bot["environment"]["METRICS_LISTEN"].rsplit(":", 1)[0]
    assert ipaddress.ip_address(host).is_loopback
    assert bot["healthcheck"]["test"][-3:] == ["-m", "bot", "health"]
    assert bot["environment"]["WEBHOOK_URL"].startswith("https://")
    assert int(bot["stop_grace_period"].rstrip("s")) >= 120  # the shutdown wipe


def test_only_the_proxy_is_reachable_and_it_never_sees_the_vault() -> None:
    document = compose()
    services = document["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"caddy"}
    assert sorted(services["caddy"]["ports"]) == ["443:443", "80:80"]
    assert not any("vault" in v for v in services["caddy"]["volumes"])
    assert document["networks"]["backend"]["internal"] is True
    assert services["staff-api"]["networks"] == ["backend"]
    assert "backend" in services["bot"]["networks"]
