#!/bin/sh
# The single-file build: dist/rivetr.pyz, Rivetr and every dependency in one zipapp made with
# shiv, run with `python3 dist/rivetr.pyz serve`. It carries the compiled wheels of the Python
# that builds it, so it runs on that Python's version (3.11 here, as Debian 12's python3), on
# Linux of the same machine type. On its first run it unpacks itself into ~/.shiv (or $SHIV_ROOT).
#   ./build-pyz.sh            (PYTHON=python3.12 ./build-pyz.sh for another interpreter)
set -eu
cd "$(dirname "$0")"
python="${PYTHON:-python3}"
venv=build/pyz-venv

if [ ! -x "$venv/bin/shiv" ]; then
    "$python" -m venv "$venv"
    # shiv as pyproject.toml's `build` extra names it
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $("$venv/bin/python" -c '
import tomllib
print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["build"])')
fi
mkdir -p dist
"$venv/bin/shiv" --quiet --console-script rivetr --python '/usr/bin/env python3' \
    --reproducible --output-file dist/rivetr.pyz .
ls -l dist/rivetr.pyz
