#!/bin/sh
# Install the bot's runtime into PREFIX: a virtual environment with the bot and what it needs to
# run, and nothing for development or tests. The container image runs this same script, and so
# do the tests (tests/deploy/test_guide.py), so what it does is tested where no image is built.
#
#   sh deploy/install.sh PREFIX        e.g. sh deploy/install.sh /opt/safe-report-bot
#
# The checkout this script sits in stays where it is: the bot runs from it (it reads its flows
# and catalogs there). Put it at PREFIX/src to keep everything in one place. Run it again after
# an upgrade (git pull): it refreshes the environment in place.
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

"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
PY

mkdir -p "$PREFIX"
if [ ! -x "$PREFIX/venv/bin/python" ]; then
    echo "» creating $PREFIX/venv"
    "$PYTHON" -m venv "$PREFIX/venv"
fi
VENV_PY="$PREFIX/venv/bin/python"

echo "» installing the bot and its runtime dependencies from $SRC"
# Runtime dependencies only (no test tools in the process that holds the token and drafts).
# This is the one place dependencies are chosen: a hash-pinned lock, when the project has one,
# goes here (pip install --require-hashes -r LOCK, then this line with --no-deps).
"$VENV_PY" -m pip install --quiet --disable-pip-version-check --editable "$SRC"

echo "» compiling the catalogs and the bytecode (the service runs on a read-only file system)"
"$VENV_PY" -c "from flows.catalog import Translator; Translator.load()"
"$VENV_PY" -m compileall -q "$SRC/bot" "$SRC/flows" "$SRC/storage" "$SRC/caseworker" \
    "$SRC/telegram_emulator"
if [ -d "$SRC/staff_api" ]; then
    "$VENV_PY" -m compileall -q "$SRC/staff_api"
fi

"$VENV_PY" -m bot --help > /dev/null
echo "» installed: $VENV_PY -m bot run"
