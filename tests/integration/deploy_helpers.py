"""Helpers for deployment tests on the real engine: a git repository of a tiny busybox httpd app
that tests change commit by commit, and waiting on a deployment's status."""

from __future__ import annotations

import base64
import contextlib
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import httpx

from rivetr.domain.deployment import TERMINAL

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Rivetr Tests",
    "GIT_AUTHOR_EMAIL": "tests@rivetr.invalid",
    "GIT_COMMITTER_NAME": "Rivetr Tests",
    "GIT_COMMITTER_EMAIL": "tests@rivetr.invalid",
    "PATH": "/usr/bin:/bin:/usr/local/bin",
}

SERVING = """FROM rivetr/busybox:latest
COPY index.html /www/index.html
CMD ["httpd", "-f", "-v", "-p", "8080", "-h", "/www"]
"""
# an image that says (EXPOSE) and does listen on 8080, for an app set to another port
LISTENS_ON_8080 = """FROM rivetr/busybox:latest
COPY index.html /www/index.html
EXPOSE 8080
CMD ["httpd", "-f", "-v", "-p", "8080", "-h", "/www"]
"""
# a Dockerfile with a typo on its line 3
TYPO = """FROM rivetr/busybox:latest
COPY index.html /www/index.html
RUNN echo hi
"""
NOT_LISTENING = """FROM rivetr/busybox:latest
COPY index.html /www/index.html
CMD ["sleep", "3600"]
"""
BROKEN = """FROM rivetr/busybox:latest
RUN echo about to fail && false
"""
# busybox httpd runs /www/cgi-bin/up for GET /cgi-bin/up: the health check of WITH_CGI_CHECK
WITH_CGI_CHECK = """FROM rivetr/busybox:latest
COPY index.html /www/index.html
COPY up /www/cgi-bin/up
RUN chmod 755 /www/cgi-bin/up
CMD ["httpd", "-f", "-v", "-p", "8080", "-h", "/www"]
"""
ALWAYS_UP = """#!/bin/sh
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nup\n'
"""
# healthy for its first check only: passes the boot check, fails the one right after the switch
UP_ONCE = """#!/bin/sh
n=$(cat /tmp/checks 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > /tmp/checks
echo "health check $n" >&2
if [ "$n" -le 1 ]; then
    printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nup\n'
else
    printf 'HTTP/1.0 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\ndown\n'
fi
"""
SLOW_BUILD = """FROM rivetr/busybox:latest
RUN sleep 600
"""


class AppRepo:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        self._git("init", "-q", "-b", "main")

    def _git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.path, env=GIT_ENV, check=True, capture_output=True, text=True
        ).stdout.strip()

    def commit(
        self,
        message: str,
        dockerfile: str = SERVING,
        body: str | None = None,
        files: dict[str, str] | None = None,
    ) -> str:
        (self.path / "Dockerfile").write_text(dockerfile)
        (self.path / "index.html").write_text(body if body is not None else message)
        for name, text in (files or {}).items():
            (self.path / name).write_text(text)
        self._git("add", "-A")
        self._git("commit", "-q", "-m", message)
        return self._git("rev-parse", "HEAD")


async def wait_for_status(services, deployment_id: str, statuses: set[str], timeout: float = 60):  # type: ignore[no-untyped-def]
    """Wait until the deployment reaches one of `statuses` (or any terminal one); return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = await services.recorder.state(deployment_id)
        if state.status in statuses or state.status in TERMINAL:
            # the log says so; let the read model (what the API answers from) catch up too
            assert await services.runner.wait_until(await services.store.head())
            return state
        await anyio.sleep(0.1)
    raise AssertionError(f"deployment {deployment_id} still {state.status} after {timeout} s")


async def get_text(port: int) -> str:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/", timeout=5)
        response.raise_for_status()
        return response.text


async def step_types(services, deployment_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    history = await services.store.read_stream(f"deployment-{deployment_id}")
    return [e.type for e in history]


class _TokenWall(SimpleHTTPRequestHandler):
    """Serves files (git's "dumb" http protocol) only to requests carrying `expected`."""

    expected = ""

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def private_https_repo(repo: AppRepo, root: Path, token: str) -> Iterator[str]:
    """Publish `repo` over https (self-signed: set GIT_SSL_NO_VERIFY) to holders of `token`,
    sent as GitHub expects it; yield its URL."""
    root.mkdir()
    bare = root / "app.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    subprocess.run(["git", "update-server-info"], cwd=bare, check=True)
    cert, key = root.parent / "cert.pem", root.parent / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    handler = type("Wall", (_TokenWall,), {"expected": f"Basic {basic}"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/app.git"
    finally:
        server.shutdown()
        server.server_close()
