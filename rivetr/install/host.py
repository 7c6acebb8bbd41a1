"""The machine `rivetr install` sets up, as a port: the commands it runs and the few facts it
reads (users, groups, files, systemd, the service's answer). `SystemHost` is the real one."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Ran:
    """A command's exit status and what it printed (stdout and stderr together)."""

    status: int
    output: str


@dataclass(frozen=True)
class Owner:
    """A file's owner and mode bits."""

    uid: int
    gid: int
    mode: int


class Host(Protocol):
    def run(self, argv: Sequence[str]) -> Ran:
        """Run a command to its end; never raises for a failing status."""
        ...

    def has_program(self, name: str) -> bool:
        """Whether `name` is on PATH (or at /usr/sbin, /usr/bin)."""
        ...

    def user_ids(self, name: str) -> tuple[int, int] | None:
        """(uid, primary gid) of a user, or None when there is no such user."""
        ...

    def group_members(self, name: str) -> list[str] | None:
        """The users a group lists, or None when there is no such group."""
        ...

    def owner(self, path: Path) -> Owner | None:
        """Who owns `path` and its mode, or None when it does not exist."""
        ...

    def make_dir(self, path: Path, uid: int, gid: int, mode: int) -> None:
        """`path` (and its parents) made, and `path` itself given to uid:gid with `mode`."""
        ...

    def foreign_entries(self, path: Path, uid: int) -> list[str]:
        """Names of the entries directly in `path` that `uid` does not own."""
        ...

    def write_file(self, path: Path, text: str) -> bool:
        """`path` holding `text` (mode 0644); whether it changed."""
        ...

    def systemd_running(self) -> bool:
        """Whether systemd is the init system (what sd_booted checks)."""
        ...

    def answers(self, url: str) -> bool:
        """Whether an HTTP GET of `url` answers 200 within a second."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemHost:
    """This machine, through subprocess and the standard library."""

    def run(self, argv: Sequence[str]) -> Ran:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8"}
        done = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
            check=False,
        )
        return Ran(done.returncode, done.stdout)

    def has_program(self, name: str) -> bool:
        path = f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/bin:/sbin:/bin"
        return shutil.which(name, path=path) is not None

    def user_ids(self, name: str) -> tuple[int, int] | None:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return None
        return entry.pw_uid, entry.pw_gid

    def group_members(self, name: str) -> list[str] | None:
        try:
            return list(grp.getgrnam(name).gr_mem)
        except KeyError:
            return None

    def owner(self, path: Path) -> Owner | None:
        try:
            found = path.stat()
        except FileNotFoundError:
            return None
        return Owner(found.st_uid, found.st_gid, found.st_mode & 0o7777)

    def make_dir(self, path: Path, uid: int, gid: int, mode: int) -> None:
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, uid, gid)
        path.chmod(mode)

    def foreign_entries(self, path: Path, uid: int) -> list[str]:
        return sorted(each.name for each in path.iterdir() if each.lstat().st_uid != uid)

    def write_file(self, path: Path, text: str) -> bool:
        try:
            if path.read_text() == text:
                return False
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.new")
        scratch.write_text(text)
        scratch.chmod(0o644)
        scratch.replace(path)  # a unit file is never seen half written
        return True

    def systemd_running(self) -> bool:
        return Path("/run/systemd/system").is_dir()

    def answers(self, url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def sleep(self, seconds: float) -> None:
        import time

        time.sleep(seconds)
