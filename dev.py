#!/usr/bin/env python3
"""The project's commands, on a fresh machine with nothing but Python 3.11+.

    python3 dev.py run     set up the bot's environment, then run the bot (Telegram with
                           BOT_TOKEN set, otherwise the offline sandbox)
    python3 dev.py test    set up the test environment (and Debian's chromium and caddy, which
                           tests drive, with apt-get when missing), then lint, format-check,
                           type-check, check the content, run the tests
    python3 dev.py caseworker ...
                           the caseworker's tools (``python -m caseworker ...``: keygen, desk,
                           fingerprint, read, export), from the same runtime environment
    python3 dev.py install FOLDER
                           install the bot's runtime environment into FOLDER, exactly as
                           ``.venv-bot`` is installed (deploy/install.sh runs this on a server
                           and in the container image)
    python3 dev.py lock    refresh the hash-pinned locks in locks/ from pyproject.toml (needs
                           the network; after adding or changing a dependency)

Two environments, each installed only from its lock, every file checked against its hash:

- ``.venv-bot``: the bot's runtime, from ``locks/runtime.txt``. No test tools: the process
  that holds the token and the drafts runs nothing it does not need. Installed once per change
  of the lock; starting the bot never reaches the network. ``install FOLDER`` makes the same
  environment elsewhere (a server's ``/opt/safe-report-bot/venv``): one way to install the
  runtime, so the sandbox, the operator's service and the container image cannot drift apart.
- ``.venv``: the tests, from ``locks/test.txt`` (the runtime's pins plus the test tools).

Anything after ``run`` or ``test`` is passed on (``python3 dev.py run sandbox``,
``python3 dev.py test -k exit``); after ``lock``, to uv (``python3 dev.py lock --upgrade``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCKS = ROOT / "locks"
RUNTIME_LOCK = LOCKS / "runtime.txt"
TEST_LOCK = LOCKS / "test.txt"
# The first line of every lock: what it was made from (see inputs_digest).
INPUTS_PREFIX = "# inputs: sha256:"
REFRESH = "python3 dev.py lock"
# Debian's packages that tests drive for real, and why: installed by the test command when
# missing (Playwright cannot download its own browser here).
SYSTEM_TOOLS = {
    Path("/usr/bin/chromium"): ("chromium", "the desk's browser tests"),
    Path("/usr/bin/caddy"): ("caddy", "the TLS proxy's test of signed staff requests"),
}
CHECKED_PACKAGES = [
    "bot",
    "flows",
    "storage",
    "caseworker",
    "bench",
    "telegram_emulator",
    "tests",
    "staff_api",
]


def _say(text: str) -> None:
    print(f"» {text}", flush=True)


@dataclass(frozen=True)
class Environment:
    """A virtual environment installed from one lock."""

    folder: Path
    lock: Path
    # Install this checkout into it as an editable project (entry points, for the tests), or
    # only put the checkout on its path (the bot: nothing to build, nothing from the network).
    editable: bool

    @property
    def python(self) -> Path:
        return self.folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    @property
    def stamp(self) -> Path:
        return self.folder / ".installed"

    def wanted(self, root: Path = ROOT) -> str:
        """What the environment must have been installed from: the lock (and, when the project
        is installed into it, pyproject.toml)."""
        digest = hashlib.sha256(self.lock.read_bytes())
        if self.editable:
            digest.update((root / "pyproject.toml").read_bytes())
        digest.update(sys.version.encode())
        return digest.hexdigest()

    def is_current(self, root: Path = ROOT) -> bool:
        """Installed, from this very lock: nothing to do, and nothing reaches the network."""
        return (
            self.python.exists()
            and self.stamp.exists()
            and self.stamp.read_text().strip() == self.wanted(root)
        )


def runtime_at(folder: Path) -> Environment:
    """The bot's runtime environment in ``folder``: from ``locks/runtime.txt`` only, with this
    checkout on its path (nothing of the project is built or copied)."""
    return Environment(folder, RUNTIME_LOCK, editable=False)


BOT = runtime_at(ROOT / ".venv-bot")
TESTS = Environment(ROOT / ".venv", TEST_LOCK, editable=True)


def inputs_digest(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """SHA-256 of what the locks are made from: the Python requirement and the dependency lists
    of pyproject.toml (not the rest of it: a change to a linter's settings stales no lock)."""
    import tomllib  # here, not above: on an older Python, setup() says what is needed first

    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    inputs = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": sorted(project.get("dependencies", [])),
        "optional-dependencies": {
            name: sorted(deps) for name, deps in project.get("optional-dependencies", {}).items()
        },
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def lock_problems(root: Path = ROOT) -> list[str]:
    """Why the locks cannot be installed as they are (missing, or made from other dependencies
    than pyproject.toml's now); an empty list when they are current."""
    wanted = inputs_digest(root / "pyproject.toml")
    problems = []
    for lock in (root / "locks" / "runtime.txt", root / "locks" / "test.txt"):
        name = lock.relative_to(root).as_posix()
        if not lock.exists():
            problems.append(f"{name} is missing: run `{REFRESH}` and commit it")
            continue
        first = lock.read_text(encoding="utf-8").split("\n", 1)[0]
        if first != f"{INPUTS_PREFIX}{wanted}":
            problems.append(
                f"{name} is stale: pyproject.toml's dependencies changed since it was made."
                f" Run `{REFRESH}` and commit locks/"
            )
    return problems


def install_commands(env: Environment, root: Path = ROOT) -> list[list[str]]:
    """The pip commands that bring ``env`` up to its lock: none when it is current.

    ``--require-hashes``: every file is checked against the lock; ``--no-deps``: nothing but
    what the lock names; ``--only-binary``: no package's build code runs here.
    """
    if env.is_current(root):
        return []
    python = str(env.python)
    commands = [
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "--no-deps",
            "--only-binary=:all:",
            "-r",
            str(env.lock),
        ]
    ]
    if env.editable:
        commands.append(
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-build-isolation",
                "--no-index",
                "-e",
                str(root),
            ]
        )
    return commands


def setup(env: Environment, *, check_locks: bool = True) -> None:
    """Create ``env`` and install it from its lock, if the lock changed since the last time."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    problems = lock_problems() if check_locks else []
    if problems:
        sys.exit("\n".join(problems))
    commands = install_commands(env)
    if not commands:
        return
    # Afresh each time the lock changed: what a lock no longer names must not linger.
    _say(f"creating {_shown(env.folder)} and installing it from {_shown(env.lock)}")
    venv.EnvBuilder(with_pip=True, clear=True).create(env.folder)
    for command in commands:
        subprocess.run(command, check=True, cwd=ROOT)
    if not env.editable:
        _put_checkout_on_path(env)
    env.stamp.write_text(env.wanted())


def _shown(path: Path) -> str:
    """A path as the person who typed the command knows it: inside the checkout, relative."""
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def _put_checkout_on_path(env: Environment) -> None:
    # The bot runs from this checkout: a .pth file puts it on the environment's path, so
    # `.venv-bot/bin/python -m bot` and `-m caseworker` work from any directory.
    purelib = subprocess.run(
        [str(env.python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "safe_report_bot.pth").write_text(f"{ROOT}\n")


def ensure_system_tools() -> list[str]:
    """Debian's packages some tests drive for real (:data:`SYSTEM_TOOLS`): present, or installed
    now with apt-get (quietly, once). Returns what is still missing."""
    missing = {path: package for path, (package, _) in SYSTEM_TOOLS.items() if not path.exists()}
    if missing:
        _say(f"installing Debian's {', '.join(missing.values())} for the tests (apt-get)")
        apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "-n", "apt-get"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["install", "-y", "-qq", "--no-install-recommends", *missing.values()]
        for step in (["update", "-qq"], install):
            try:
                subprocess.run(
                    [*apt, *step],
                    check=True,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            except (OSError, subprocess.CalledProcessError):
                break
    still = [path for path in SYSTEM_TOOLS if not path.exists()]
    for path in still:
        package, why = SYSTEM_TOOLS[path]
        print(
            f"cannot install {package} ({why}): run 'apt-get install {package}' as root",
            file=sys.stderr,
        )
    return [SYSTEM_TOOLS[path][0] for path in still]


def run(args: list[str]) -> int:
    """Run the bot: ``python -m bot run`` unless other bot arguments are given."""
    setup(BOT)
    command = [str(BOT.python), "-m", "bot", *(args or ["run"])]
    return subprocess.call(command, cwd=ROOT)


def test(args: list[str]) -> int:
    """Lint, format-check, type-check, check the content, then the whole test suite."""
    setup(TESTS)
    python = str(TESTS.python)
    steps = [
        ("lint (ruff)", [python, "-m", "ruff", "check", "."]),
        ("format (ruff)", [python, "-m", "ruff", "format", "--check", "."]),
        ("type check (mypy)", [python, "-m", "mypy", *_existing(CHECKED_PACKAGES)]),
        ("content check", [python, "-m", "flows", "check"]),
    ]
    failed = []
    for name, command in steps:
        _say(name)
        if subprocess.call(command, cwd=ROOT) != 0:
            failed.append(name)
    failed += ensure_system_tools()
    _say("tests (pytest)")
    code = subprocess.call(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT
    )
    if failed:
        print(f"failed before the tests: {', '.join(failed)}", file=sys.stderr)
        return 1
    return code


def lock(args: list[str]) -> int:
    """Refresh locks/runtime.txt and locks/test.txt from pyproject.toml with uv (pinned in the
    test lock), keeping every pin that still satisfies it unless ``--upgrade`` is given."""
    setup(TESTS, check_locks=False)  # uv comes from the current test lock, hash-checked
    LOCKS.mkdir(exist_ok=True)
    header = f"{INPUTS_PREFIX}{inputs_digest()}\n"
    for target, extra in ((RUNTIME_LOCK, []), (TEST_LOCK, ["--extra", "test"])):
        constraints = ["--constraints", str(RUNTIME_LOCK)] if target == TEST_LOCK else []
        command = [
            str(TESTS.python),
            "-m",
            "uv",
            "pip",
            "compile",
            "pyproject.toml",
            *extra,
            *constraints,
            "--universal",
            "--python-version",
            "3.11",
            "--generate-hashes",
            "--quiet",
            "--custom-compile-command",
            REFRESH,
            "--output-file",
            str(target),
            *args,
        ]
        _say(f"locking {target.relative_to(ROOT)}")
        if subprocess.call(command, cwd=ROOT) != 0:
            return 1
        text = target.read_text(encoding="utf-8")
        if text.startswith(INPUTS_PREFIX):
            text = text.split("\n", 1)[1]
        target.write_text(header + text, encoding="utf-8")
    return 0


def _existing(packages: list[str]) -> list[str]:
    return [p for p in packages if (ROOT / p / "__init__.py").exists()]


def caseworker(args: list[str]) -> int:
    """The caseworker's tools: ``python -m caseworker`` in the runtime environment (no test
    tools), so a caseworker's computer needs nothing but this checkout and Python."""
    setup(BOT)
    return subprocess.call([str(BOT.python), "-m", "caseworker", *args], cwd=ROOT)


def _not_an_environment(folder: Path) -> str:
    """Why ``folder`` must not be (re)made into an environment: an install clears it first, so
    it must be new, empty or an environment already, and must not hold this checkout."""
    if ROOT.is_relative_to(folder):
        return f"{folder} holds this checkout: name a folder of its own, e.g. {folder / 'venv'}"
    if folder.is_dir() and any(folder.iterdir()) and not (folder / "pyvenv.cfg").exists():
        return f"{folder} is not empty and is not a virtual environment: it would be cleared"
    return ""


def install(args: list[str]) -> int:
    """Install the bot's runtime environment into one folder, as ``.venv-bot`` is installed:
    the same lock, the same hash checks, wheels only, no test tools, this checkout on its path.
    Nothing is done when it is already current."""
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python3 dev.py install FOLDER", file=sys.stderr)
        return 2
    env = runtime_at(Path(args[0]).expanduser().resolve())
    refused = _not_an_environment(env.folder)
    if refused:
        print(refused, file=sys.stderr)
        return 2
    setup(env)
    _say(f"{_shown(env.folder)} is installed from {_shown(env.lock)}")
    return 0


COMMANDS = {
    "run": run,
    "test": test,
    "caseworker": caseworker,
    "lock": lock,
    "install": install,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
