"""A node's engine socket brought to this machine through SSH, for one call: `ssh -L` forwards
a Unix socket in a private temporary directory to the node's `/var/run/docker.sock` (what
`docker -H ssh://` reaches, without its reliance on `~/.ssh`). The key given is the only one
offered, the node's host key given is the only one taken (a known_hosts file of its own, not
the user's or the system's), no configuration file is read and nothing is asked (BatchMode):
a Rivetr running as a service has no one to answer a prompt, and a team's join must not
borrow the service account's keys."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REMOTE_SOCKET = "/var/run/docker.sock"
CONNECT_TIMEOUT_S = 15  # ssh's own, for the TCP connection
SETUP_TIMEOUT_S = 30.0  # the connection, the key exchange, the sign-in and the forward
_STOP_TIMEOUT_S = 5.0


class TunnelError(Exception):
    """ssh could not forward the node's engine socket; the message is its own words."""


@dataclass(frozen=True)
class SshTarget:
    user: str | None
    host: str  # a name, or an address (an IPv6 one without its brackets)
    port: int

    @classmethod
    def of(cls, url: str) -> SshTarget:
        parsed = urllib.parse.urlsplit(url)
        return cls(parsed.username, parsed.hostname or "", parsed.port or 22)

    @property
    def known_as(self) -> str:
        """The name OpenSSH looks its host key up by, in a known_hosts file."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    def known_hosts_line(self, host_key: str) -> str:
        return f"{self.known_as} {host_key}\n"


@contextmanager
def forwarded_socket(url: str, ssh_key: str, host_key: str) -> Iterator[str]:
    """The path of a local socket that reaches the engine of the node at `url`
    (`ssh://user@host[:port]`) while the context lasts. Raises TunnelError."""
    target = SshTarget.of(url)
    with tempfile.TemporaryDirectory(prefix="rivetr-engine-ssh-") as folder:  # mode 0700
        key = Path(folder) / "key"
        key.touch(mode=0o600)
        # OpenSSH refuses a key without its last newline, or with a browser form's CRLFs
        key.write_text("\n".join(ssh_key.strip().splitlines()) + "\n")
        known_hosts = Path(folder) / "known_hosts"
        known_hosts.write_text(target.known_hosts_line(host_key))
        socket = Path(folder) / "docker.sock"
        try:
            process = subprocess.Popen(
                _argv(target, key, known_hosts, socket),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env={k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"},
            )
        except FileNotFoundError:
            raise TunnelError(
                "ssh is not installed on this machine (apt-get install openssh-client)"
            ) from None
        try:
            _wait_for(socket, process)
            yield str(socket)
        finally:
            _stop(process)


def _argv(target: SshTarget, key: Path, known_hosts: Path, socket: Path) -> list[str]:
    options = {
        "BatchMode": "yes",
        "IdentitiesOnly": "yes",
        "IdentityFile": str(key),
        "IdentityAgent": "none",
        "UserKnownHostsFile": str(known_hosts),
        "GlobalKnownHostsFile": "/dev/null",
        "StrictHostKeyChecking": "yes",
        "UpdateHostKeys": "no",
        "ControlMaster": "no",
        "ControlPath": "none",
        "ConnectTimeout": str(CONNECT_TIMEOUT_S),
        "ExitOnForwardFailure": "yes",
        "ServerAliveInterval": "10",
    }
    argv = ["ssh", "-F", "/dev/null", "-N", "-T", "-p", str(target.port)]
    for name, value in options.items():
        argv += ["-o", f"{name}={value}"]
    if target.user:
        argv += ["-l", target.user]
    return [*argv, "-L", f"{socket}:{REMOTE_SOCKET}", "--", target.host]


def _wait_for(socket: Path, process: subprocess.Popen[bytes]) -> None:
    """Until ssh listens on `socket` (it binds it once signed in and the forward is set)."""
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    while not socket.is_socket():
        if process.poll() is not None:
            raise TunnelError(_said(process))
        if time.monotonic() > deadline:
            raise TunnelError(f"no forward after {SETUP_TIMEOUT_S:.0f} s")
        time.sleep(0.05)


def _said(process: subprocess.Popen[bytes]) -> str:
    assert process.stderr is not None
    lines = [line.strip() for line in process.stderr.read().decode(errors="replace").splitlines()]
    words = [line for line in lines if line and not line.startswith("@")]
    last = words[-1] if words else f"ssh ended with status {process.returncode}"
    if "Host key verification failed" in last:
        return f"its host key is not the one given ({last})"
    return last


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stderr is not None:
        process.stderr.close()
