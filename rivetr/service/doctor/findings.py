"""What `rivetr doctor` makes of what it measured: one finding per thing looked at, ok, worth a
look (warn) or failing, each with what to do. Pure: the probes hand in the facts."""

from __future__ import annotations

import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import msgspec

Status = Literal["ok", "warn", "fail"]
GiB = 1024**3
# a disk with less than this left is a warning, and under a tenth of it a failure: the log, the
# builds' images and the backups all grow on it
LOW_DISK = 2 * GiB
LOW_DISK_PERCENT = 10.0
BACKUP_STALE = timedelta(hours=48)
CERTIFICATE_SOON = timedelta(days=14)
CLOCK_TOLERANCE = timedelta(seconds=60)


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    check: str
    status: Status
    detail: str
    action: str = ""  # what to do; empty when nothing is


def ok(check: str, detail: str) -> Finding:
    return Finding(check=check, status="ok", detail=detail)


def engine(answered: str | None, problem: str) -> Finding:
    if answered is not None:
        return ok("engine", answered)
    return Finding(
        check="engine",
        status="fail",
        detail=f"no container engine answers: {problem}",
        action="start it (systemctl start docker), or run Rivetr as a user allowed to use it"
        " (the docker group); `rivetr install` does both",
    )


PortState = Literal["rivetr", "free", "taken", "denied", "refused"]


def port(number: int, state: PortState, holder: str = "") -> Finding:
    check = f"port {number}"
    match state:
        case "rivetr":
            return ok(check, "Rivetr's proxy answers on it")
        case "free":
            return Finding(
                check=check,
                status="warn",
                detail="nothing listens on it: Rivetr is not running, or its proxy is off",
                action="start Rivetr (systemctl start rivetr)",
            )
        case "denied":
            return Finding(
                check=check,
                status="warn",
                detail="nothing listens on it, and this user may not bind it",
                action="run Rivetr as its unit does (CAP_NET_BIND_SERVICE), or as root",
            )
        case _:
            said = f" ({holder})" if holder else ""
            return Finding(
                check=check,
                status="fail",
                detail=f"another program holds it{said}: Rivetr's proxy cannot serve there",
                action="stop that program (e.g. systemctl disable --now nginx apache2 caddy),"
                f" or set proxy_{'https' if number == 443 else 'http'}_port",
            )


@dataclass(frozen=True)
class Resolved:
    domain: str
    addresses: Sequence[str]  # empty: it does not resolve
    error: str = ""


def domain(found: Resolved, here: set[str]) -> Finding:
    check = f"dns {found.domain}"
    shown = ", ".join(sorted(here)) or "unknown"
    if not found.addresses:
        why = f" ({found.error})" if found.error else ""
        return Finding(
            check=check,
            status="fail",
            detail=f"does not resolve{why}",
            action=f"add an A (or AAAA) record for it pointing at this server ({shown})",
        )
    pointed = set(found.addresses)
    if pointed & here:
        return ok(check, f"points here ({', '.join(sorted(pointed & here))})")
    return Finding(
        check=check,
        status="warn",
        detail=f"points to {', '.join(sorted(pointed))}, not an address of this server ({shown})",
        action="fine behind NAT or a load balancer that forwards 80 and 443 here; otherwise"
        " point it here: a certificate cannot be issued without it",
    )


def disk(folder: str, free: int, total: int) -> Finding:
    percent = 100.0 * free / total if total else 0.0
    detail = f"{folder}: {free / GiB:.1f} GiB free of {total / GiB:.1f} GiB ({percent:.0f} %)"
    if free >= LOW_DISK and percent >= LOW_DISK_PERCENT:
        return ok("disk", detail)
    failing = free < LOW_DISK / 10 or percent < LOW_DISK_PERCENT / 10
    return Finding(
        check="disk",
        status="fail" if failing else "warn",
        detail=detail,
        action="free space: `docker system prune` removes unused images, old backups go with"
        " a target's keep_last; a full disk refuses every change",
    )


def clock(now: datetime, newest_event: datetime | None, synchronized: bool | None) -> Finding:
    if newest_event is not None and newest_event - now > CLOCK_TOLERANCE:
        behind = (newest_event - now).total_seconds()
        return Finding(
            check="clock",
            status="fail",
            detail=f"{behind:.0f} s behind the newest event in the log: the clock went back",
            action="synchronise it (systemd-timesyncd, chrony); schedules and certificates go"
            " by it",
        )
    if synchronized is False:
        return Finding(
            check="clock",
            status="warn",
            detail="not synchronised with a time server",
            action="timedatectl set-ntp true (or install chrony)",
        )
    said = "synchronised" if synchronized else "cannot tell whether it is synchronised"
    return ok("clock", f"{now:%Y-%m-%d %H:%M:%S} UTC, {said}")


def private_file(check: str, path: str, mode: int | None, owned_by_me: bool) -> Finding:
    """A file only its user may read (the key, the log): mode 0600, or 0700 for a folder."""
    if mode is None:
        return Finding(
            check=check,
            status="warn",
            detail=f"{path} does not exist yet",
            action="it is made on first use; if values were sealed already, restore it",
        )
    loose = stat.S_IMODE(mode) & 0o077
    if loose or not owned_by_me:
        wanted = "700" if stat.S_ISDIR(mode) else "600"
        whose = "" if owned_by_me else ", and it is not this user's"
        return Finding(
            check=check,
            status="fail",
            detail=f"{path} is {stat.S_IMODE(mode):o}{whose}: others may read what it holds",
            action=f"chmod {wanted} {path} (and chown it to the user Rivetr runs as)",
        )
    return ok(check, f"{path} is {stat.S_IMODE(mode):o}")


@dataclass(frozen=True)
class DatabaseBackups:
    name: str
    database_id: str
    scheduled: bool
    last_verified_at: datetime | None
    last_failed: bool


def backups(databases: Iterable[DatabaseBackups], now: datetime) -> list[Finding]:
    found = []
    for db in databases:
        check = f"backups {db.name}"
        if db.last_verified_at is None:
            found.append(
                Finding(
                    check=check,
                    status="warn",
                    detail="no verified backup yet"
                    + (", the last one failed" if db.last_failed else ""),
                    action=f"rivetr db backup {db.database_id} --wait"
                    + (
                        ""
                        if db.scheduled
                        else f"; rivetr db schedule {db.database_id} --cron '0 3 * * *'"
                    ),
                )
            )
            continue
        age = now - db.last_verified_at
        if age > BACKUP_STALE or db.last_failed:
            hours = age.total_seconds() / 3600
            found.append(
                Finding(
                    check=check,
                    status="warn",
                    detail=f"the newest verified backup is {hours:.0f} h old"
                    + (", and the last one failed" if db.last_failed else ""),
                    action=f"rivetr db backups {db.database_id} says why;"
                    f" rivetr db backup {db.database_id} --wait",
                )
            )
        else:
            found.append(ok(check, f"verified {age.total_seconds() / 3600:.0f} h ago"))
    return found


@dataclass(frozen=True)
class CertificateState:
    domain: str
    not_after: datetime | None
    last_error: str | None


def certificates(certs: Iterable[CertificateState], now: datetime) -> list[Finding]:
    found = []
    for cert in certs:
        check = f"certificate {cert.domain}"
        if cert.not_after is None:
            if cert.last_error:
                found.append(
                    Finding(
                        check=check,
                        status="fail",
                        detail=f"none installed: {cert.last_error}",
                        action="check its DNS (above) and that port 80 reaches this server",
                    )
                )
            continue
        left = cert.not_after - now
        if left < CERTIFICATE_SOON:
            status: Status = "fail" if left < timedelta(days=3) else "warn"
            why = f"; the last renewal failed: {cert.last_error}" if cert.last_error else ""
            found.append(
                Finding(
                    check=check,
                    status=status,
                    detail=f"expires in {max(left.days, 0)} days ({cert.not_after:%Y-%m-%d}){why}",
                    action="renewal is automatic with ACME: check its DNS and port 80; an"
                    " uploaded certificate must be uploaded again",
                )
            )
        else:
            found.append(ok(check, f"valid until {cert.not_after:%Y-%m-%d}"))
    return found


def control_plane(newest_verified: datetime | None, last_failed: bool, now: datetime) -> Finding:
    """The backup of Rivetr's own log, certificates and key (`rivetr backup`)."""
    advice = (
        "rivetr backup --with-key (to an off-site target: --target NAME), and"
        " rivetr backup schedule --cron '0 4 * * *' --with-key"
    )
    failed = ", and the last one failed: `rivetr backup list` says why" if last_failed else ""
    if newest_verified is None:
        return Finding(
            check="control-plane backup",
            status="warn",
            detail=f"Rivetr's own log, certificates and key were never backed up{failed}",
            action=advice,
        )
    age = now - newest_verified
    detail = f"the newest verified one is {age.total_seconds() / 3600:.0f} h old{failed}"
    if age > BACKUP_STALE or last_failed:
        return Finding(check="control-plane backup", status="warn", detail=detail, action=advice)
    return ok("control-plane backup", detail)
