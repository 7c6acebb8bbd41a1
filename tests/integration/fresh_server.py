"""A fresh Debian 12 server in a container, for the install tests: the debootstrap base with the
distribution's python3 (tests/images/python3), a copy of this checkout in it, and ways to run
commands in it, start `rivetr serve` there and stop it. Plain docker SDK."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from docker import DockerClient
from docker.models.containers import Container

from tests.database_images import TestImage
from tests.engine import TEST_RUN_LABEL

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = TestImage("python3", "rivetr-test/debian-python3:bookworm")
CHECKOUT = "/src/rivetr"
# This machine reaches PyPI through a TLS-inspecting proxy whose CA only its own bundle holds
# (its pip is pointed at it as well); a fresh Debian would trust PyPI's certificate as it is.
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
CONTAINER_CA = "/etc/rivetr-test/host-ca.crt"


def say(line: str) -> None:
    print(f"[install tests] {line}", file=sys.stderr, flush=True)


@contextmanager
def fresh_debian(client: DockerClient) -> Iterator[Container]:
    """A running container of the image, idle (`sleep infinity`), removed afterwards."""
    volumes, environment = {}, {}
    if HOST_CA.is_file():
        volumes[str(HOST_CA)] = {"bind": CONTAINER_CA, "mode": "ro"}
        environment["PIP_CERT"] = CONTAINER_CA
    container = client.containers.run(
        DEBIAN_PYTHON.tag,
        ["sleep", "infinity"],
        name=f"rivetr-install-{uuid.uuid4().hex[:8]}",
        labels={TEST_RUN_LABEL: "install"},
        environment=environment,
        volumes=volumes,
        init=True,
        detach=True,
    )
    try:
        yield container
    finally:
        container.remove(force=True)


def checkout_tar() -> bytes:
    """This checkout as git sees it (tracked and new files, working-tree contents)."""
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in filter(None, names):
            path = ROOT / name.decode()
            if path.exists():  # deleted in the working tree, not yet in the index
                archive.add(path, arcname=name.decode(), recursive=False)
    return buffer.getvalue()


def put_file(container: Container, directory: str, name: str, data: bytes, mode: int) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), mode
        archive.addfile(info, io.BytesIO(data))
    run(container, "mkdir", "-p", directory)
    container.put_archive(directory, buffer.getvalue())


def run(
    container: Container,
    *argv: str,
    workdir: str = "/",
    environment: Mapping[str, str] | None = None,
    ok: bool = True,
) -> str:
    """`argv` run in the container to its end; its output (stdout and stderr). With `ok`, a
    failing status fails the test with that output."""
    code, output = container.exec_run(list(argv), workdir=workdir, environment=environment)
    text = output.decode(errors="replace")
    if ok:
        assert code == 0, f"{' '.join(argv)} exited {code}:\n{text[-4000:]}"
    return text


def timed(container: Container, what: str, *argv: str, workdir: str = "/") -> str:
    started = time.monotonic()
    output = run(container, *argv, workdir=workdir)
    say(f"{what} in {time.monotonic() - started:.1f} s")
    return output


_WAIT_FOR_HEALTH = """
import sys, time, urllib.request
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=1) as answer:
            print(answer.read().decode())
            break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("no answer from " + sys.argv[1])
        time.sleep(0.1)
"""

# the processes of a user (procps is not in a minimal Debian): their ids, one a line
_PIDS_OF = """
import os, pwd, sys
uid = pwd.getpwnam(sys.argv[1]).pw_uid
for pid in filter(str.isdigit, os.listdir("/proc")):
    if os.stat(f"/proc/{pid}").st_uid == uid:
        print(pid)
"""


def start_in_background(container: Container, shell_line: str, log: str) -> None:
    container.exec_run(["sh", "-c", f"{shell_line} >{log} 2>&1"], detach=True)


def wait_for_health(container: Container, port: int, seconds: float = 60) -> str:
    url = f"http://127.0.0.1:{port}/api/v1/health"
    return run(container, "python3", "-c", _WAIT_FOR_HEALTH, url, str(seconds))


def processes_of(container: Container, user: str) -> list[str]:
    return run(container, "python3", "-c", _PIDS_OF, user).split()


def stop_processes_of(container: Container, user: str) -> None:
    """SIGTERM to every process of `user`, then wait for them to end."""
    pids = processes_of(container, user)
    if pids:
        run(container, "sh", "-c", f"kill {' '.join(pids)}")  # procps's kill is not there
    for _ in range(300):
        if not processes_of(container, user):
            return
        time.sleep(0.1)
    raise AssertionError(f"{user}'s processes did not end within 30 s of SIGTERM")
