#!/bin/sh
# Install (or upgrade) Rivetr from this checkout as a system service, on Debian 12, Ubuntu 24.04
# or a relative, with the distribution's own python3. As root (or through sudo, asked for):
#   ./install.sh            arguments go to `rivetr install` (see `rivetr install --help`)
# It needs what PEP 668 leaves a fresh Debian without: python3-venv (installed with apt-get when
# missing). The code goes into a venv of its own, $RIVETR_PREFIX (/opt/rivetr), never into the
# system's Python; `rivetr install` then does the rest (engine, user, data directory, unit,
# start). Running it again installs the checkout's code into the same venv and restarts the
# service: an upgrade in place, the data directory untouched.
set -eu

prefix="${RIVETR_PREFIX:-/opt/rivetr}"
checkout="$(cd "$(dirname "$0")" && pwd)"

say() { printf '== %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        say "installing a system service needs root: asking sudo"
        exec sudo ${RIVETR_PREFIX:+RIVETR_PREFIX="$RIVETR_PREFIX"} "$0" "$@"
    fi
    say "run it as root (su -c ./install.sh): it installs packages, a user and a service"
    exit 1
fi

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    # a fresh image has no package lists yet, a server's may be stale: fetch them on a failure
    if ! apt-get install -y -q --no-install-recommends "$@"; then
        say "apt-get update"
        apt-get update -q
        apt-get install -y -q --no-install-recommends "$@"
    fi
}

if ! command -v python3 >/dev/null 2>&1; then
    say "apt-get install python3"
    apt_install python3
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    say "apt-get install python3-venv (Debian's python3 makes no venv without it)"
    apt_install python3-venv
fi
if [ ! -x "$prefix/bin/python" ]; then
    say "python3 -m venv $prefix"
    python3 -m venv "$prefix"
fi
say "pip install $checkout into $prefix"
"$prefix/bin/python" -m pip install --quiet --disable-pip-version-check "$checkout"
exec "$prefix/bin/rivetr" install "$@"
