"""The README's first command, `./install.sh`, run as written on a fresh Debian 12 with the
distribution's python3 (a container from a debootstrap root, not this machine's Python): the
venv, the user, the data directory, the unit (`systemd-analyze verify`), the service started as
the unit would start it and answering, and a second run upgrading in place without touching the
data. Then the single-file build (`./build-pyz.sh`) run there: `--version` and `serve`.

Each step's time is printed; the module takes about two minutes with its image cached."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker.models.containers import Container

from rivetr import __version__
from rivetr.adapters.migrations import log_schema
from rivetr.install.installer import SETUP_CODE
from tests.integration.database_servers import connect_docker, images_in
from tests.integration.fresh_server import (
    CHECKOUT,
    DEBIAN_PYTHON,
    ROOT,
    checkout_tar,
    fresh_debian,
    put_file,
    run,
    say,
    start_in_background,
    stop_processes_of,
    timed,
    wait_for_health,
)

pytestmark = [pytest.mark.integration, pytest.mark.docker]

DATA = "/var/lib/rivetr"
UNIT = "/etc/systemd/system/rivetr.service"
SERVE_LOG = "/tmp/rivetr-serve.log"


@pytest.fixture(scope="module")
def zipapp_build() -> Iterator[subprocess.Popen[bytes]]:
    """`./build-pyz.sh`, the README's one command for the single-file build, started at once:
    it runs here while the container installs (each mostly waits on the network)."""
    build = subprocess.Popen(
        [str(ROOT / "build-pyz.sh")], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    yield build
    if build.poll() is None:
        build.kill()
        build.wait()


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, zipapp_build: subprocess.Popen[bytes]
) -> Iterator[Container]:
    images_in("docker", request, DEBIAN_PYTHON)
    client = connect_docker()
    try:
        with fresh_debian(client) as container:
            run(container, "mkdir", "-p", CHECKOUT)
            container.put_archive(CHECKOUT, checkout_tar())
            yield container
    finally:
        client.close()


@pytest.fixture(scope="module")
def installed(server: Container) -> str:
    """What `./install.sh` printed, run as the README says, from the checkout."""
    return timed(server, "./install.sh on a fresh Debian 12", "./install.sh", workdir=CHECKOUT)


def foreground_command(install_output: str) -> str:
    """The line `rivetr install` prints for starting the service without systemd."""
    lines = install_output.splitlines()
    said = next(i for i, line in enumerate(lines) if "systemd is not running here" in line)
    return lines[said + 1].strip()


def start_service(server: Container, command: str) -> str:
    """The service started with `command`; its health answer."""
    start_in_background(server, command, SERVE_LOG)
    started = time.monotonic()
    answer = wait_for_health(server, 8080)
    say(f"service answered /api/v1/health {time.monotonic() - started:.1f} s after its start")
    return answer


def data_snapshot(server: Container) -> str:
    """Every file of the data directory with its owner, mode and content's hash."""
    return run(
        server,
        "sh",
        "-c",
        f"cd {DATA} && find . -exec stat -c '%n %U:%G %a %s' {{}} + | sort && "
        "find . -type f -exec sha256sum {} + | sort -k 2",
    )


def test_install_sh_sets_up_the_venv_the_user_the_data_dir_and_the_unit(
    server: Container, installed: str
) -> None:
    assert "apt-get install python3-venv" in installed  # what a fresh Debian lacks, got
    assert "installed Debian's docker.io" in installed
    version = run(server, "/opt/rivetr/bin/rivetr", "--version").strip()
    assert version == f"rivetr {__version__} (log schema {log_schema()})"
    where = run(server, "/opt/rivetr/bin/python", "-c", "import rivetr; print(rivetr.__file__)")
    assert where.startswith("/opt/rivetr/lib/python3")
    assert run(server, "id", "-nG", "rivetr").split() == ["rivetr", "docker"]
    assert run(server, "getent", "passwd", "rivetr").strip().endswith(f":{DATA}:/usr/sbin/nologin")
    assert run(server, "stat", "-c", "%U:%G %a", DATA).strip() == "rivetr:rivetr 700"
    unit = run(server, "cat", UNIT)
    assert "ExecStart=/opt/rivetr/bin/rivetr serve" in unit
    assert f"ReadWritePaths={DATA}" in unit
    # systemd's own checker, on the machine the unit is for (it checks ExecStart's program)
    checked = run(server, "systemd-analyze", "verify", UNIT)
    assert checked == "", checked


def test_without_systemd_the_printed_command_starts_the_service_as_its_user(
    server: Container, installed: str
) -> None:
    command = foreground_command(installed)
    assert command.startswith(f"cd {DATA} && setpriv --reuid=rivetr")
    health = start_service(server, command)
    try:
        assert '"status":"ok"' in health
        log = run(server, "cat", SERVE_LOG)
        assert SETUP_CODE.search(log), log
        # as the unit's AmbientCapabilities allow: the proxy bound port 80 as the rivetr user
        assert "proxy on http://0.0.0.0:80" in log, log
        owners = run(server, "stat", "-c", "%U %a %n", f"{DATA}/events.db", f"{DATA}/read.db")
        assert owners.split()[::3] == ["rivetr", "rivetr"], owners
    finally:
        stop_processes_of(server, "rivetr")


def test_running_it_again_upgrades_the_code_in_place_and_keeps_the_data(
    server: Container, installed: str
) -> None:
    command = foreground_command(installed)
    start_service(server, command)
    as_rivetr = command.split(" && ", 1)[1].removesuffix(" serve")
    run(
        server,
        "sh",
        "-c",
        f"echo 'a long enough password' | {as_rivetr} users create-admin --email ann@example.com",
    )
    stop_processes_of(server, "rivetr")
    before = data_snapshot(server)
    marker = f"upgrade {time.time_ns()}\n".encode()
    put_file(server, f"{CHECKOUT}/rivetr/install", "UPGRADE_MARKER", marker, 0o644)

    again = timed(server, "./install.sh again (upgrade)", "./install.sh", workdir=CHECKOUT)

    assert "made the system user" not in again
    assert "apt-get install" not in again
    assert f"data: {DATA} kept as it is" in again
    installed_marker = "/opt/rivetr/lib/python3.11/site-packages/rivetr/install/UPGRADE_MARKER"
    assert run(server, "cat", installed_marker).encode() == marker
    assert data_snapshot(server) == before
    start_service(server, foreground_command(again))
    try:
        log = run(server, "cat", SERVE_LOG)
        assert not SETUP_CODE.search(log), "the account made before the upgrade is gone"
    finally:
        stop_processes_of(server, "rivetr")


@pytest.fixture(scope="module")
def zipapp(zipapp_build: subprocess.Popen[bytes]) -> Path:
    """dist/rivetr.pyz, built on this machine: it carries the compiled wheels of the Python
    that builds it (3.11 here, as Debian 12's)."""
    started = time.monotonic()
    output, _ = zipapp_build.communicate(timeout=600)
    assert zipapp_build.returncode == 0, output.decode(errors="replace")[-4000:]
    say(f"waited {time.monotonic() - started:.1f} s more for ./build-pyz.sh")
    return ROOT / "dist" / "rivetr.pyz"


def test_the_zipapp_runs_version_and_serve_on_debians_python(
    server: Container, zipapp: Path
) -> None:
    put_file(server, "/root", "rivetr.pyz", zipapp.read_bytes(), 0o755)
    started = time.monotonic()
    version = run(server, "python3", "/root/rivetr.pyz", "--version")
    say(f"rivetr.pyz --version (unpacking itself first) in {time.monotonic() - started:.1f} s")
    assert version.strip() == f"rivetr {__version__} (log schema {log_schema()})"
    environment = "RIVETR_DATA=/tmp/pyz-data RIVETR_PORT=8090 RIVETR_PROXY_ENABLED=false"
    serve = f"echo $$ >/tmp/pyz.pid; exec env {environment} python3 /root/rivetr.pyz serve"
    start_in_background(server, serve, "/tmp/pyz.log")
    started = time.monotonic()
    try:
        assert '"status":"ok"' in wait_for_health(server, 8090)
        say(f"rivetr.pyz serve answered health in {time.monotonic() - started:.1f} s")
    finally:
        run(server, "sh", "-c", "kill $(cat /tmp/pyz.pid)")
