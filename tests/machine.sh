# Shell functions tests/run and benchmarks/run share, sourced from the repository's root: say,
# need_root, apt_install (one `apt-get update` a run), start_engine (Docker: installed and started
# when it does not answer) and make_venv (.venv, reinstalled when pyproject.toml changes).

say() { printf '== %s\n' "$*" >&2; }

need_root() {
    if [ "$(id -u)" != 0 ]; then
        say "$1: run $0 as root, or do it yourself and run $0 again"
        exit 1
    fi
}

apt_updated=""
apt_install() {
    need_root "apt-get install $*"
    if [ -z "$apt_updated" ]; then
        say "apt-get update"
        apt-get update -q
        apt_updated=1
    fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

engine_answers() { /usr/bin/docker info >/dev/null 2>&1; }

start_engine() {
    engine_answers && return
    if [ ! -x /usr/sbin/dockerd ] || [ ! -x /usr/bin/docker ]; then
        apt_install docker.io busybox-static
        engine_answers && return  # a machine with an init system starts it by itself
    fi
    need_root "start dockerd"
    say "starting dockerd (log: /var/log/dockerd.log)"
    setsid nohup /usr/sbin/dockerd </dev/null >/var/log/dockerd.log 2>&1 &
    for _ in $(seq 120); do
        engine_answers && return
        sleep 0.5
    done
    say "dockerd did not answer 'docker info' within 60 s; the end of /var/log/dockerd.log:"
    tail -n 30 /var/log/dockerd.log >&2 || true
    exit 1
}

make_venv() {
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        apt_install python3 python3-venv
    fi
    [ -x .venv/bin/python ] || { say "python3 -m venv .venv"; python3 -m venv .venv; }
    local stamp=.venv/.rivetr-installed
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        say "pip install -e '.[test]'"
        .venv/bin/python -m pip install -q -e '.[test]'
        touch "$stamp"
    fi
}
