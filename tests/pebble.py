"""Pebble, Let's Encrypt's test CA, run for the ACME tests and the idle benchmark."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.net import free_port
from tests.tls import ThrowawayCA


class Pebble:
    """Let's Encrypt's test CA and its DNS helper (Debian's `pebble`), which answers 127.0.0.1
    for every name unless told otherwise, so that its HTTP-01 validation reaches Rivetr's proxy
    on `http_port` (a free port when not given)."""

    def __init__(self, folder: Path, http_port: int | None = None) -> None:
        self.folder = folder
        self.http_port = http_port or free_port()  # where Pebble validates HTTP-01
        self.port, self.management, self.dns, self.dns_admin = (free_port() for _ in range(4))
        ca = ThrowawayCA()  # for Pebble's own HTTPS listener
        chain, key = ca.issue("localhost")
        (folder / "ca.pem").write_bytes(ca.pem)
        (folder / "cert.pem").write_bytes(chain)
        (folder / "key.pem").write_bytes(key)
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.port}",
                "managementListenAddress": f"127.0.0.1:{self.management}",
                "certificate": str(folder / "cert.pem"),
                "privateKey": str(folder / "key.pem"),
                "httpPort": self.http_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        (folder / "pebble.json").write_text(json.dumps(config))
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def directory(self) -> str:
        return f"https://localhost:{self.port}/dir"

    @property
    def ca_file(self) -> str:
        return str(self.folder / "ca.pem")

    def start(self) -> None:
        log = (self.folder / "pebble.log").open("wb")
        dns = [
            "pebble-challtestsrv",
            "-dns01", f"127.0.0.1:{self.dns}",
            "-management", f"127.0.0.1:{self.dns_admin}",
            "-http01", "", "-https01", "", "-tlsalpn01", "",
            "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
        ]  # fmt: skip
        self.processes.append(subprocess.Popen(dns, stdout=log, stderr=subprocess.STDOUT))
        env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
        command = [
            "pebble",
            "-config", str(self.folder / "pebble.json"),
            "-dnsserver", f"127.0.0.1:{self.dns}",
        ]  # fmt: skip
        self.processes.append(
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self._get(self.directory)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError((self.folder / "pebble.log").read_text())

    def root(self) -> bytes:
        """Pebble's issuing root: a new one at every start."""
        return self._get(f"https://localhost:{self.management}/roots/0")

    def resolve(self, host: str, address: str | None) -> None:
        """Make Pebble's DNS answer `address` for `host` (None: the default, 127.0.0.1)."""
        payload: dict[str, object] = {"host": host + "."}
        if address is not None:
            payload["addresses"] = [address]
        action = "add-a" if address is not None else "clear-a"
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.dns_admin}/{action}",
            data=json.dumps(payload).encode(),
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).read()

    def _get(self, url: str) -> bytes:
        context = ssl.create_default_context(cafile=self.ca_file)
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            return bytes(response.read())

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=10)
