"""The project's commands: hash-pinned locks, a runtime without test tools that installs nothing
at start, and a test command that lints, formats and type-checks everything, tests included."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import dev

ROOT = Path(__file__).resolve().parent.parent
TEST_TOOLS = {"pytest", "pytest-asyncio", "hypothesis", "ruff", "mypy", "uv", "setuptools"}


def pins(lock: Path) -> dict[str, str]:
    """Package name -> pinned version, checking that every requirement carries hashes."""
    text = lock.read_text()
    found: dict[str, str] = {}
    for block in re.split(r"\n(?=[a-z0-9])", text.split("\n", 3)[-1]):
        requirement = block.split(" ", 1)[0]
        if not requirement or requirement.startswith("#"):
            continue
        name, _, version = requirement.partition("==")
        assert version, f"{lock.name}: {requirement} is not pinned"
        assert "--hash=sha256:" in block, f"{lock.name}: {name} has no hash"
        found[name] = version
    return found


def test_the_locks_are_current_and_pin_every_file_by_hash() -> None:
    assert dev.lock_problems() == []
    runtime, tests = pins(dev.RUNTIME_LOCK), pins(dev.TEST_LOCK)
    assert {"aiogram", "aiosqlite", "cryptography", "babel", "pydantic", "pyyaml"} <= set(runtime)
    assert not TEST_TOOLS & set(runtime), "test tools in the bot's runtime"
    assert TEST_TOOLS <= set(tests)
    # The tests run against exactly the versions the bot runs with.
    assert {name: tests[name] for name in runtime} == runtime


def _copy_project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "locks", tmp_path / "locks")
    return tmp_path


def test_a_dependency_added_to_pyproject_stales_the_locks_with_a_clear_message(
    tmp_path: Path,
) -> None:
    root = _copy_project(tmp_path)
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    # A change elsewhere in pyproject.toml (a linter's settings) stales nothing.
    pyproject.write_text(text.replace("line-length = 100", "line-length = 99"))
    assert dev.lock_problems(root) == []
    pyproject.write_text(
        text.replace('    "pyyaml>=6.0",\n', '    "pyyaml>=6.0",\n    "jinja2>=3",\n')
    )
    problems = dev.lock_problems(root)
    assert len(problems) == 2
    assert problems[0] == (
        "locks/runtime.txt is stale: pyproject.toml's dependencies changed since it was made."
        " Run `python3 dev.py lock` and commit locks/"
    )
    (root / "locks" / "test.txt").unlink()
    assert "locks/test.txt is missing" in dev.lock_problems(root)[1]


def test_the_bot_environment_once_installed_installs_nothing_at_start(tmp_path: Path) -> None:
    """`dev.py run` reaches the network only when the lock changed: a current environment gets
    no pip command at all, and an install takes only hash-checked wheels the lock names."""
    lock = tmp_path / "runtime.txt"
    lock.write_text("aiogram==3.0 --hash=sha256:00\n")
    env = dev.Environment(tmp_path / "env", lock, editable=False)
    (tmp_path / "env" / "bin").mkdir(parents=True)
    env.python.write_text("")
    env.stamp.write_text(env.wanted(tmp_path))
    assert dev.install_commands(env, tmp_path) == []
    lock.write_text("aiogram==3.1 --hash=sha256:01\n")
    (command,) = dev.install_commands(env, tmp_path)
    assert command[:4] == [str(env.python), "-m", "pip", "install"]
    for option in ("--require-hashes", "--no-deps", "--only-binary=:all:"):
        assert option in command
    assert command[-2:] == ["-r", str(lock)]


def test_the_test_command_lints_formats_and_type_checks_the_tests_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[list[str]] = []

    def call(command: list[str], **_: object) -> int:
        ran.append(command)
        return 0

    monkeypatch.setattr(dev, "setup", lambda env, **_: None)
    monkeypatch.setattr(subprocess, "call", call)
    assert dev.test(["-k", "x"]) == 0
    tools = [command[2:] for command in ran]
    assert ["ruff", "check", "."] in tools
    assert ["ruff", "format", "--check", "."] in tools
    mypy = next(t for t in tools if t[0] == "mypy")
    assert "tests" in mypy and "bot" in mypy
    assert tools[-1][:1] == ["pytest"] and tools[-1][-2:] == ["-k", "x"]


def test_the_runtime_installs_anywhere_the_same_way_and_clears_only_what_it_owns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`dev.py install FOLDER` (what deploy/install.sh runs on a server and in the image) makes
    the environment `dev.py run` makes: the same lock, the same pip command. It clears the folder
    first, so it refuses one that holds anything but an environment, or this checkout."""
    elsewhere = dev.runtime_at(tmp_path / "venv")
    assert (elsewhere.lock, elsewhere.editable) == (dev.BOT.lock, dev.BOT.editable)
    (command,) = dev.install_commands(elsewhere)
    (ours,) = dev.install_commands(dev.Environment(tmp_path / "other", dev.RUNTIME_LOCK, False))
    assert command[1:] == ours[1:]
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("keep me")
    assert dev.main(["install", str(occupied)]) == 2
    assert dev.main(["install", str(ROOT)]) == 2
    assert dev.main(["install"]) == 2
    assert (occupied / "notes.txt").read_text() == "keep me"
    errors = capsys.readouterr().err
    assert "not empty and is not a virtual environment" in errors
    assert "holds this checkout" in errors


def test_the_operators_install_script_installs_only_through_dev_py() -> None:
    script = (ROOT / "deploy" / "install.sh").read_text()
    code = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert '"$PYTHON" "$SRC/dev.py" install "$PREFIX/venv"' in code
    # Nothing else in it chooses or installs a package.
    assert not [line for line in code if re.search(r"\bpip\b|-m venv|ensurepip", line)]
