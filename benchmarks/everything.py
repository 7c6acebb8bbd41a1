"""What `idle.py --everything` sets up on the real Docker engine through Rivetr's API and CLI, as
a user would, and takes down again; and Caddy, the anchor `--anchor caddy` measures beside it.

The setup: the proxy on 80/443 (when free), Pebble as the ACME CA, an app deployed from a local
repository and served over HTTPS with the certificate Rivetr ordered by itself, a PostgreSQL
database with a backup schedule, a compose stack of two busybox services, a scheduled job and a
subscriber of the live event stream. Everything it made in the engine is removed at the end,
through the API while the service runs and by label and name afterwards (a failed or interrupted
run included); the cached base images the tests build too are left.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import docker
import docker.errors
from local_git import first_commit

from tests.database_images import BASE_IMAGE, POSTGRES, ensure_image
from tests.net import free_port
from tests.pebble import Pebble

Say = Callable[[str], None]
BUSYBOX = "rivetr/busybox:latest"
DOCKERFILE = """FROM rivetr/busybox:latest
COPY index.html /www/index.html
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""
COMPOSE = """services:
  web:
    image: rivetr/busybox:latest
    command: ["sh", "-c", "echo stack > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"]
  worker:
    image: rivetr/busybox:latest
    command: ["sh", "-c", "while true; do sleep 3600; done"]
"""
JOB = {"name": "nightly", "command": "echo hi", "schedule": "0 3 * * *"}


class Api:
    """Rivetr's JSON API with a bearer token; an answer other than the one expected raises."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def call(self, method: str, path: str, body: object = None, expect: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, text = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read()
        if status != expect:
            raise RuntimeError(f"{method} {path}: {status} (expected {expect}): {text[:300]!r}")
        return json.loads(text) if text else None


class SetupFailed(Exception):
    """A step of the setup failed for good (`until` waits on no other error)."""


def until(what: str, timeout: float, probe: Callable[[], Any]) -> Any:
    """`probe()` every 0.2 s until it answers something true; that answer."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            found = probe()
        except (OSError, RuntimeError) as exc:  # not yet: refused, reset, a 5xx
            found, last = None, exc
        if found:
            return found
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not done in {timeout:.0f} s (last: {last})")


def proxy_ports() -> tuple[int, int]:
    """80 and 443 when both are free to bind (the proxy's defaults: as root), else free ports."""
    for port in (80, 443):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                return free_port(), free_port()
    return 80, 443


def https_get(port: int, host: str, root: bytes) -> tuple[str, str]:
    """GET / over TLS on loopback naming `host` by SNI, the chain verified against `root`:
    the status line and the leaf's issuer."""
    context = ssl.create_default_context(cadata=root.decode())
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
        issuer = dict(pair[0] for pair in tls.getpeercert()["issuer"])  # type: ignore[index,misc]
    return answer.split(b"\r\n", 1)[0].decode(), str(issuer.get("commonName", "?"))


class Subscriber(threading.Thread):
    """One client of /api/v1/events/stream, held open: the event hub's subscriber."""

    def __init__(self, api: Api) -> None:
        super().__init__(daemon=True)
        host, port = api.url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {"Authorization": f"Bearer {api.token}", "Accept": "text/event-stream"}
        self.conn.request("GET", "/api/v1/events/stream", headers=headers)
        self.response = self.conn.getresponse()
        if self.response.status != 200:
            raise RuntimeError(f"GET /api/v1/events/stream: {self.response.status}")
        self.events = self.comments = 0
        self.ended: str | None = None

    def run(self) -> None:
        try:
            while line := self.response.readline():
                if line.startswith(b":"):
                    self.comments += 1
                elif line.startswith(b"event:"):
                    self.events += 1
            self.ended = "closed by the server"
        except (OSError, ValueError, AttributeError, http.client.HTTPException) as exc:
            # AttributeError: http.client's, when close() pulls the socket from under a read
            self.ended = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.conn.sock is not None:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()


OWNED = ("app", "stack", "database")  # what labels the containers Rivetr makes for each
_OWNED_STREAM = re.compile(r"(app|stack|database)-([a-z2-7]{12})")


def ids_in_log(log: Path) -> dict[str, set[str]]:
    """The ids of the apps, stacks and databases whose streams the log at `log` holds."""
    found: dict[str, set[str]] = {}
    if not log.exists():
        return found
    conn = sqlite3.connect(log)
    try:
        streams = [row[0] for row in conn.execute("SELECT DISTINCT stream_id FROM events")]
    except sqlite3.Error:
        streams = []
    finally:
        conn.close()
    for stream in streams:
        if matched := _OWNED_STREAM.fullmatch(stream):
            found.setdefault(matched[1], set()).add(matched[2])
    return found


class Everything:
    """The setup of `idle.py --everything` in `folder`: `prepare()` before `rivetr serve`
    starts (images, ports, Pebble: the service's settings), `configure()` once it runs,
    `check()` after its restart, `remove()` and `sweep()` at the end, whatever happened."""

    def __init__(self, folder: Path, say: Say) -> None:
        self.folder, self.say = folder, say
        tag = uuid.uuid4().hex[:6]
        self.project, self.app, self.stack = f"idle-{tag}", f"idle-{tag}", f"idle-{tag}-stack"
        self.domain, self.stack_domain = f"app-{tag}.idle.test", f"stack-{tag}.idle.test"
        self.ids: dict[str, str] = {}  # app, deployment, database, stack -> the id Rivetr gave
        self.configured: list[str] = []
        self.pebble: Pebble | None = None
        self.subscriber: Subscriber | None = None
        self.root = b""
        self.http_port = self.https_port = 0
        self.engine = docker.from_env()
        self.alive: Callable[[], bool] = lambda: True  # whether `rivetr serve` still runs

    def prepare(self, cli: list[str], env: dict[str, str]) -> dict[str, str]:
        """The images (built or found), the proxy's ports and Pebble; the service's settings."""
        started = time.monotonic()
        had = {tag for tag in (BUSYBOX, BASE_IMAGE, POSTGRES.tag) if self._has_image(tag)}
        subprocess.run([*cli, "images", "import-busybox", "--data-dir", str(self.folder / "data")],
                       env=env, check=True, capture_output=True, timeout=120)  # fmt: skip
        ensure_image(self.engine, POSTGRES, lambda line: self.say(f"  {line}"))
        made = sorted({BUSYBOX, BASE_IMAGE, POSTGRES.tag} - had)
        self.say(
            f"images ready in {time.monotonic() - started:.1f} s"
            + (f" (made now: {', '.join(made)})" if made else " (all cached)")
        )
        self.http_port, self.https_port = proxy_ports()
        where = "80/443" if self.http_port == 80 else "80/443 taken: free ports"
        self.say(f"proxy on {self.http_port} and {self.https_port} ({where})")
        (self.folder / "pebble").mkdir()
        self.pebble = Pebble(self.folder / "pebble", self.http_port)
        self.pebble.start()
        self.root = self.pebble.root()
        (self.folder / "repos").mkdir()
        return {
            "RIVETR_ENGINE": "docker",
            "RIVETR_PROXY_HTTP_PORT": str(self.http_port),
            "RIVETR_PROXY_HTTPS_PORT": str(self.https_port),
            "RIVETR_ACME_AUTO": "true",
            "RIVETR_ACME_ANY_NAME": "true",  # Pebble, a private CA: it certifies .test names
            "RIVETR_ACME_DIRECTORY_URL": self.pebble.directory,
            "RIVETR_ACME_CA_BUNDLE": self.pebble.ca_file,
            "RIVETR_GIT_LOCAL_DIRS": str(self.folder / "repos"),
            "RIVETR_DATABASE_IMAGES": f"postgres:16-alpine={POSTGRES.tag}",
        }

    def configure(self, api: Api) -> None:
        """Everything a user sets up once and then leaves idle, each step timed."""
        api.call("POST", "/api/v1/projects", {"project": self.project}, expect=201)
        place = {"project": self.project}
        began = time.monotonic()
        repo = self._repo()
        app = {"name": self.app, "git_url": str(repo), "port": 8080, "domains": [self.domain],
               "health": {"path": "/"}, **place}  # fmt: skip
        self.ids["app"] = api.call("POST", "/api/v1/apps", app, expect=201)["id"]
        path = f"/api/v1/apps/{self.app}/deployments"
        self.ids["deployment"] = api.call("POST", path, {}, expect=202)["deployment_id"]
        database = {"name": "pg", "kind": "postgres", **place}
        self.ids["database"] = api.call("POST", "/api/v1/databases", database, expect=201)[
            "database_id"
        ]
        route = {"service": "web", "port": 8080, "domains": [self.stack_domain]}
        stack = {"name": self.stack, "compose": COMPOSE, "routes": [route], **place}
        self.ids["stack"] = api.call("POST", "/api/v1/stacks", stack, expect=201)["stack_id"]
        path = f"/api/v1/stacks/{self.ids['stack']}/deploy"
        release = api.call("POST", path, expect=202)["release_id"]

        self._wait("app deployed (live)", began, 240, lambda: self._live(api))
        self.configured += ["proxy", "app"]
        self._wait("certificate issued by Pebble", began, 180, lambda: self._certified(api))
        self.configured.append("acme")
        self._wait("database running", began, 300, lambda: self._running(api))
        path = f"/api/v1/databases/{self.ids['database']}/schedules"
        schedule = {"cron": "0 3 * * *", "timezone": "UTC", "target": "local"}
        api.call("PUT", path, {"schedules": [schedule]})
        self.configured.append("database_backups")
        path = f"/api/v1/stacks/{self.ids['stack']}/releases/{release}"
        self._wait("stack live", began, 240, lambda: self._release_live(api, path))
        self.configured.append("stack")
        api.call("POST", f"/api/v1/apps/{self.app}/jobs", JOB, expect=201)
        self.configured.append("job")

    def check(self, api: Api) -> str:
        """After the restart: the app and the stack answer through the proxy over HTTPS with
        Pebble's certificates again; then the event stream gets its subscriber. What was seen."""
        began = time.monotonic()
        app = self._wait("app answers over HTTPS", began, 60, lambda: self._served(self.domain))
        stack = self._wait("stack answers", began, 60, lambda: self._served(self.stack_domain))
        self.subscriber = Subscriber(api)
        self.subscriber.start()
        self.configured.append("hub")
        return f"{self.domain}: {app}; {self.stack_domain}: {stack}"

    def upstream(self, api: Api) -> int:
        """The live release's own port on loopback (what an anchor proxies to)."""
        found = api.call("GET", f"/api/v1/deployments/{self.ids['deployment']}")
        return int(found["deployment"]["host_port"])

    def remove(self, api: Api | None) -> None:
        """What was made, deleted through the API while the service runs, and waited for until
        its containers are gone; the subscriber closed."""
        if self.subscriber is not None:
            self.subscriber.close()
        if api is None:
            return
        deletes = [
            (f"/api/v1/stacks/{self.ids.get('stack')}", "stack"),
            (f"/api/v1/databases/{self.ids.get('database')}?keep_volume=false", "database"),
            (f"/api/v1/apps/{self.app}", "app"),
        ]
        deleted = 0
        for path, key in deletes:
            if key in self.ids:
                with contextlib.suppress(OSError, RuntimeError):
                    api.call("DELETE", path, expect=204)
                    deleted += 1
        ours = {kind: {self.ids[kind]} for kind in OWNED if kind in self.ids}
        if deleted:
            with contextlib.suppress(RuntimeError, OSError, docker.errors.DockerException):
                until("containers removed", 60, lambda: not self.alive() or not self._of(ours))

    def sweep(self, data: Path) -> list[str]:
        """Whatever is left in the engine of this run, removed (the service is stopped by now):
        containers, volumes, networks and built images, found by the ids Rivetr gave, and those
        its log holds (had an answer been lost). The names of what it removed."""
        ours = ids_in_log(data / "events.db")
        for kind in OWNED:
            if kind in self.ids:
                ours.setdefault(kind, set()).add(self.ids[kind])
        removed: list[str] = []
        try:
            self._sweep(ours, removed)
        except (OSError, docker.errors.DockerException) as exc:
            self.say(f"could not finish removing what the run made from the engine: {exc}")
        return removed

    def _sweep(self, ours: dict[str, set[str]], removed: list[str]) -> None:
        for container in self._of(ours):
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True, v=True)
                removed.append(f"container {container.name}")
        prefixes = [f"rivetr-db-{each}" for each in ours.get("database", ())]
        prefixes += [f"rivetr-stack-{each}" for each in ours.get("stack", ())]
        for volume in self.engine.volumes.list():
            if volume.name.startswith(tuple(prefixes)):
                with contextlib.suppress(docker.errors.APIError):
                    volume.remove(force=True)
                    removed.append(f"volume {volume.name}")
        prefixes.append(f"rivetr.default.{self.project}.")  # the project's networks
        for network in self.engine.networks.list():
            if str(network.name).startswith(tuple(prefixes)):
                with contextlib.suppress(docker.errors.APIError):
                    network.remove()
                    removed.append(f"network {network.name}")
        for app_id in ours.get("app", ()):
            for image in self.engine.images.list(filters={"label": f"rivetr.app={app_id}"}):
                with contextlib.suppress(docker.errors.APIError):
                    self.engine.images.remove(image.id, force=True)
                    removed.append(f"image {', '.join(image.tags) or image.short_id}")

    def _of(self, ours: dict[str, set[str]]) -> list[Any]:
        """The engine's containers labelled with one of `ours` (kind -> ids)."""
        found = {}
        for kind, ids in ours.items():
            for each in ids:
                filters = {"label": f"rivetr.{kind}={each}"}
                for container in self.engine.containers.list(all=True, filters=filters):
                    found[container.id] = container
        return list(found.values())

    def close(self) -> None:
        if self.pebble is not None:
            self.pebble.stop()
        self.engine.close()

    def _wait(self, what: str, began: float, timeout: float, probe: Callable[[], Any]) -> Any:
        def answered() -> Any:
            if not self.alive():
                raise SetupFailed(f"rivetr serve exited while waiting for: {what}")
            return probe()

        found = until(what, timeout, answered)
        self.say(f"  {what} after {time.monotonic() - began:.1f} s")
        return found

    def _repo(self) -> Path:
        repo = self.folder / "repos" / "site"
        repo.mkdir()
        (repo / "Dockerfile").write_text(DOCKERFILE)
        (repo / "index.html").write_text("idle\n")
        first_commit(repo)
        return repo

    def _live(self, api: Api) -> bool:
        found = api.call("GET", f"/api/v1/deployments/{self.ids['deployment']}")["deployment"]
        if found["status"] in ("failed", "cancelled", "rolled_back"):
            raise SetupFailed(f"the app's deployment ended {found['status']}: {found}")
        return bool(found["status"] == "live")

    def _certified(self, api: Api) -> bool:
        views = api.call("GET", f"/api/v1/apps/{self.app}/certificates")
        return any(view.get("source") == "acme" for view in views)

    def _running(self, api: Api) -> bool:
        found = api.call("GET", f"/api/v1/databases/{self.ids['database']}")
        if found["status"] == "failed":
            raise SetupFailed(f"the database failed: {found.get('failure')}")
        return bool(found["status"] == "running")

    def _release_live(self, api: Api, path: str) -> bool:
        status = api.call("GET", path)["release"]["status"]
        if status == "failed":
            raise SetupFailed(f"the stack's release failed: {api.call('GET', path)}")
        return bool(status == "live")

    def _served(self, domain: str) -> str | None:
        status, issuer = https_get(self.https_port, domain, self.root)
        return f"{status}, certificate from {issuer}" if status.split()[1] == "200" else None

    def _has_image(self, tag: str) -> bool:
        try:
            self.engine.images.get(tag)
        except docker.errors.ImageNotFound:
            return False
        return True


CADDYFILE = """{{
\tadmin off
\tskip_install_trust
\thttp_port {http_port}
\thttps_port {https_port}
\tstorage file_system {storage}
\tauto_https disable_redirects
\tlog {{
\t\toutput discard
\t}}
}}

{domain}:{https_port} {{
\ttls internal
\treverse_proxy 127.0.0.1:{upstream}
}}
"""


class Caddy:
    """Debian's Caddy (`caddy run`) serving one reverse_proxy route over HTTPS with a
    certificate of its own internal CA: free ports, no admin endpoint, logs discarded, every
    file in `folder`."""

    domain = "anchor.idle.test"

    def __init__(self, folder: Path, upstream: int) -> None:
        self.folder = folder
        folder.mkdir()
        self.https_port = free_port()
        caddyfile = CADDYFILE.format(
            http_port=free_port(),
            https_port=self.https_port,
            storage=folder / "storage",
            domain=self.domain,
            upstream=upstream,
        )
        (folder / "Caddyfile").write_text(caddyfile)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start it; once it serves the route over HTTPS, its version and what it answered."""
        env = {
            **os.environ,
            "HOME": str(self.folder),
            "XDG_CONFIG_HOME": str(self.folder / "config"),
            "XDG_DATA_HOME": str(self.folder / "data"),
        }
        with (self.folder / "caddy.log").open("wb") as log:
            command = ["caddy", "run", "--config", str(self.folder / "Caddyfile"),
                       "--adapter", "caddyfile"]  # fmt: skip
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        root = self.folder / "storage" / "pki" / "authorities" / "local" / "root.crt"

        def serves() -> str | None:
            if self.process is not None and self.process.poll() is not None:
                raise SetupFailed(f"caddy exited:\n{(self.folder / 'caddy.log').read_text()}")
            if not root.exists():
                return None
            status, issuer = https_get(self.https_port, self.domain, root.read_bytes())
            # any answer of the upstream: it may be Rivetr's API, which redirects a browser
            return f"{status}, certificate from {issuer}" if int(status.split()[1]) < 500 else None

        answered = until("caddy serving HTTPS", 30, serves)
        version = subprocess.run(["caddy", "version"], capture_output=True, text=True).stdout
        return f"caddy {version.split()[0] if version else '?'}: {answered}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
