#!/bin/sh
# Install the bot's runtime into PREFIX/venv, exactly as `python3 dev.py run` installs .venv-bot:
# from locks/runtime.txt only, every file checked against its hash, wheels only, no test tools
# (dev.py's `install` command: one way to install, so the sandbox, the service and the image
# cannot drift apart). The container image runs this same script, and so do the tests
# (tests/deploy/test_guide.py), so what it does is tested where no image is built.
#
#   sh deploy/install.sh PREFIX        e.g. sh deploy/install.sh /opt/safe-report-bot
#
# The checkout this script sits in stays where it is: the bot runs from it (it reads its flows
# and catalogs there). Put it at PREFIX/src to keep everything in one place. Run it again after
# an upgrade (git pull): the environment is made afresh only when the lock changed.
#
# PYTHON names the interpreter to use (default: python3; 3.11 or newer).
set -eu

if [ "$#" -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    echo "usage: sh deploy/install.sh PREFIX" >&2
    exit 2
fi
PREFIX=$1
SRC=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}

mkdir -p "$PREFIX"
"$PYTHON" "$SRC/dev.py" install "$PREFIX/venv"
VENV_PY="$PREFIX/venv/bin/python"

echo "» compiling the catalogs and the bytecode (the service runs on a read-only file system)"
"$VENV_PY" -c "from flows.catalog import Translator; Translator.load()"
"$VENV_PY" -m compileall -q "$SRC/bot" "$SRC/flows" "$SRC/storage" "$SRC/caseworker" \
    "$SRC/staff_api" "$SRC/telegram_emulator"

"$VENV_PY" -m bot --help > /dev/null
"$VENV_PY" -m staff_api --help > /dev/null
echo "» installed: $VENV_PY -m bot run (and -m staff_api serve, for the caseworkers' desk)"
