"""What `rivetr doctor` looks at, measured: the engine, the proxy's ports, each domain's DNS,
the data directory's disk, the clock, the files only Rivetr may read, the databases' backups and
the certificates. Each probe is bounded in time; what it finds is judged in `findings.py`."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import socket
import subprocess
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rivetr.config import Settings
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.control_plane import ControlPlaneBackupView
from rivetr.service.doctor import findings
from rivetr.service.doctor.findings import Finding, PortState, Resolved

DNS_TIMEOUT_S = 3.0
AT_ONCE = 16  # domains looked up together
UNKNOWN_HOST = "doctor.rivetr.invalid"


async def examine(
    settings: Settings,
    read: ReadModel,
    engine: Callable[[], Awaitable[str]],
    newest_event: datetime | None,
    control_backups: Sequence[ControlPlaneBackupView] = (),
) -> list[Finding]:
    """Every finding, in the order a reader fixes things: the engine and ports first."""
    now = datetime.now(UTC)
    found = [await _engine(engine)]
    if settings.proxy_enabled:
        http, holder = await asyncio.to_thread(port_state, settings.proxy_http_port)
        found.append(findings.port(settings.proxy_http_port, http, holder))
        tls, holder = await asyncio.to_thread(port_state, settings.proxy_https_port, http)
        found.append(findings.port(settings.proxy_https_port, tls, holder))
    found += await _domains(settings, read)
    found.append(_disk(settings.data_path))
    found.append(findings.clock(now, newest_event, await asyncio.to_thread(synchronized)))
    found += _private_files(settings)
    found += findings.backups(await _databases(read), now)
    found.append(_control_plane(control_backups, now))
    found += findings.certificates(await _certificates(read), now)
    return found


async def _engine(engine: Callable[[], Awaitable[str]]) -> Finding:
    try:
        return findings.engine(await asyncio.wait_for(engine(), 10), "")
    except Exception as exc:  # any failure to reach it is the finding
        return findings.engine(None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def port_state(number: int, plain: PortState | None = None) -> tuple[PortState, str]:
    """Who holds `number` on this machine: Rivetr's proxy, another program, or nobody. With
    `plain` (what the HTTP port was found to be) the port is the TLS one: a listener there is
    Rivetr's when its HTTP port is, since one process holds both."""
    try:
        with socket.create_connection(("127.0.0.1", number), timeout=2) as conn:
            if plain is not None:
                return ("rivetr", "") if plain == "rivetr" else ("taken", "")
            conn.settimeout(2)
            conn.sendall(
                f"GET / HTTP/1.1\r\nHost: {UNKNOWN_HOST}\r\nConnection: close\r\n\r\n".encode()
            )
            head = conn.recv(4096).decode("latin-1", "replace")
    except ConnectionRefusedError:
        return _bindable(number), ""
    except OSError as exc:
        return "taken", exc.strerror or str(exc)
    if "No application here" in head and "Rivetr" in head:
        return "rivetr", ""
    return "taken", _server_of(head)


def _server_of(head: str) -> str:
    """What an HTTP answer says of the program that gave it."""
    lines = head.splitlines()
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "server":
            return value.strip()
    return lines[0] if lines else ""


def _bindable(number: int) -> PortState:
    try:
        with socket.socket() as sock:
            # as the proxy binds: connections of a just-stopped Rivetr (or of this doctor's
            # own probe) linger in TIME_WAIT on the port, and hold it from no listener
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("0.0.0.0", number))
    except PermissionError:
        return "denied"
    except OSError as exc:
        return "denied" if exc.errno == errno.EACCES else "taken"
    return "free"


async def _domains(settings: Settings, read: ReadModel) -> list[Finding]:
    names = sorted(await _every_domain(read))
    if not names:
        return []
    here = await asyncio.to_thread(local_addresses, settings)
    limit = asyncio.Semaphore(AT_ONCE)

    async def one(name: str) -> Finding:
        async with limit:
            return findings.domain(await resolve(name), here)

    return list(await asyncio.gather(*(one(name) for name in names)))


async def _every_domain(read: ReadModel) -> set[str]:
    names = {d for app in await read.apps.every() for d in app.domains}
    for stack in await read.stacks.every():
        names |= {d for route in stack.routes for d in route.domains}
    return names


async def resolve(name: str) -> Resolved:
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(name, None, type=socket.SOCK_STREAM),
            DNS_TIMEOUT_S,
        )
    except TimeoutError:
        return Resolved(name, (), f"no answer in {DNS_TIMEOUT_S:.0f} s")
    except OSError as exc:
        return Resolved(name, (), exc.strerror or str(exc))
    return Resolved(name, tuple(sorted({str(info[4][0]) for info in infos})))


def local_addresses(settings: Settings) -> set[str]:
    """This machine's addresses, and those its public URL's host resolves to (a server behind
    NAT knows its public address only from there)."""
    found: set[str] = set()
    try:
        listed = subprocess.run(
            ["ip", "-json", "address"], capture_output=True, text=True, timeout=5, check=True
        ).stdout
        for link in json.loads(listed):
            found |= {a["local"] for a in link.get("addr_info", []) if "local" in a}
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    public = settings.public_url
    if public:
        from urllib.parse import urlsplit

        host = urlsplit(str(public)).hostname
        if host:
            with contextlib.suppress(OSError):
                found |= {str(i[4][0]) for i in socket.getaddrinfo(host, None)}
    return {a for a in found if not a.startswith(("127.", "::1", "fe80:"))}


def _disk(folder: Path) -> Finding:
    where = folder if folder.exists() else folder.parent
    usage = os.statvfs(where)
    return findings.disk(
        str(folder), usage.f_bavail * usage.f_frsize, usage.f_blocks * usage.f_frsize
    )


def synchronized() -> bool | None:
    """Whether systemd says the clock is synchronised; None when it cannot tell."""
    try:
        said = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True, text=True, timeout=5,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    value = said.stdout.strip()
    return {"yes": True, "no": False}.get(value) if said.returncode == 0 else None


def _private_files(settings: Settings) -> list[Finding]:
    data = settings.data_path
    key = [] if settings.secret_key else [_private("key file", data / "secrets.key")]
    return [*key, _private("event log", data / "events.db"), _private("data directory", data)]


def _private(check: str, path: Path) -> Finding:
    try:
        info = path.stat()
    except FileNotFoundError:
        return findings.private_file(check, str(path), None, True)
    return findings.private_file(check, str(path), info.st_mode, info.st_uid == os.geteuid())


async def _databases(read: ReadModel) -> list[findings.DatabaseBackups]:
    return [
        findings.DatabaseBackups(
            name=f"{db.team}/{db.project}/{db.name}",
            database_id=db.database_id,
            scheduled=bool(db.schedules),
            last_verified_at=_when(db.last_verified_at),
            last_failed=db.last_backup_status == "failed",
        )
        for db in await read.databases.every()
    ]


async def _certificates(read: ReadModel) -> list[findings.CertificateState]:
    return [
        findings.CertificateState(cert.domain, _when(cert.not_after), cert.last_error)
        for cert in await read.certificates.every()
    ]


def _control_plane(backups: Sequence[ControlPlaneBackupView], now: datetime) -> Finding:
    """`backups` newest first, as the control-plane service lists them."""
    verified = [_when(b.requested_at) for b in backups if b.status == "verified" and not b.deleted]
    failed = bool(backups) and backups[0].status == "failed"
    return findings.control_plane(verified[0] if verified else None, failed, now)


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)
