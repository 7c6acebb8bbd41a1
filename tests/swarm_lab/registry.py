"""A real image registry for the swarm lab: Debian's `docker-registry` (the distribution registry
2.8) as a child process on 127.0.0.1, with its storage in a temporary directory and, optionally,
htpasswd basic auth. Workers reach the same address through `Lab.share_loopback(port)`."""

from __future__ import annotations

import ctypes
import http.client
import json
import secrets
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.net import free_port
from tests.swarm_lab.lifecycle import StartStop

REGISTRY_BINARY = "/usr/bin/docker-registry"
_PR_SET_PDEATHSIG = 1
_INSTANCE_HEADER = "X-Rivetr-Lab-Registry"


class RegistryError(RuntimeError):
    """The registry could not start or answer; the message carries the end of its log."""


def bcrypt_hash(password: str) -> str:
    """`password` hashed with bcrypt, the only scheme the registry's htpasswd reader accepts.

    libxcrypt (`libcrypt.so.1`, in every Debian since 11) does bcrypt, so no `bcrypt` package
    and no `crypt` module (deprecated, gone in Python 3.13) are needed. Cost 5 keeps each
    authenticated request fast; these credentials guard nothing."""
    library = ctypes.CDLL("libcrypt.so.1")
    library.crypt_gensalt.restype = ctypes.c_char_p
    c_string, c_ulong, c_int = ctypes.c_char_p, ctypes.c_ulong, ctypes.c_int
    library.crypt_gensalt.argtypes = [c_string, c_ulong, c_string, c_int]
    library.crypt.restype = ctypes.c_char_p
    library.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    setting = library.crypt_gensalt(b"$2b$", 5, None, 0)  # NULL: libxcrypt draws the salt
    hashed = library.crypt(password.encode(), setting) if setting else None
    if not hashed or not hashed.startswith(b"$2b$"):
        raise RegistryError("libcrypt could not make a bcrypt hash for the registry's htpasswd")
    return str(hashed.decode())


def _die_with_parent() -> None:
    # A killed test run must not leave a registry behind: the kernel sends SIGKILL to the child
    # when the process that started it dies.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Registry(StartStop):
    """`docker-registry serve` on `127.0.0.1:<port>`; `auth=(user, password)` turns on basic auth.

    Use as a context manager, or `start()` / `stop()`. Images are named `f"{address}/name:tag"`;
    the engine treats a loopback registry as plain HTTP, so no TLS and no daemon setting."""

    def __init__(self, auth: tuple[str, str] | None = None, port: int | None = None) -> None:
        self.auth = auth
        self.port = port or free_port()
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._instance = secrets.token_hex(8)

    @property
    def address(self) -> str:
        """`127.0.0.1:<port>`: the one name the host and every lab worker use."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> Registry:
        """Write the configuration, start the registry, return once `/v2/` answers."""
        if not Path(REGISTRY_BINARY).is_file():
            raise RegistryError(f"{REGISTRY_BINARY} is missing: apt-get install docker-registry")
        self._scratch = tempfile.TemporaryDirectory(
            prefix="rivetr-lab-registry-", ignore_cleanup_errors=True
        )
        scratch = Path(self._scratch.name)
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(scratch / "data")}},
            # a fixed secret silences the "generated random secret" warning; one instance only
            "http": {
                "addr": self.address,
                "secret": secrets.token_hex(16),
                # the ready check knows this instance by it, not another on a reused port
                "headers": {_INSTANCE_HEADER: [self._instance]},
            },
        }
        if self.auth is not None:
            user, password = self.auth
            (scratch / "htpasswd").write_text(f"{user}:{bcrypt_hash(password)}\n")
            config["auth"] = {
                "htpasswd": {"realm": "rivetr-lab", "path": str(scratch / "htpasswd")}
            }
        # JSON is YAML: the registry reads this file unchanged
        (scratch / "config.yml").write_text(json.dumps(config))
        log = (scratch / "registry.log").open("wb")
        self._process = subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(scratch / "config.yml")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # no other thread runs in the child
        )
        log.close()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RegistryError(f"docker-registry exited at start:\n{self.log_tail()}")
            answer = self._get("/v2/")
            # 401: up, and asking for credentials
            if answer and answer[0] in (200, 401) and answer[1] == self._instance:
                return
            time.sleep(0.05)
        raise RegistryError(f"docker-registry did not answer in {timeout} s:\n{self.log_tail()}")

    def _get(self, path: str) -> tuple[int, str] | None:
        """An anonymous GET's status and instance header, or None when nothing answers."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.getheader(_INSTANCE_HEADER, "")
        except OSError:
            return None
        finally:
            connection.close()

    def log_tail(self, lines: int = 30) -> str:
        if self._scratch is None:
            return ""
        log = Path(self._scratch.name) / "registry.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the registry and delete its storage; safe to call twice."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None
