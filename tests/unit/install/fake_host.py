"""A machine in memory for the installer's unit tests: it records the commands run and answers
them as a Debian machine would (useradd makes the user, apt-get installs docker.io…)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rivetr.install.host import Owner, Ran


@dataclass
class FakeHost:
    programs: set[str] = field(default_factory=lambda: {"apt-get", "useradd", "usermod"})
    users: dict[str, tuple[int, int]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    paths: dict[Path, Owner] = field(default_factory=dict)
    entries: dict[Path, dict[str, int]] = field(default_factory=dict)  # name -> owner uid
    files: dict[Path, str] = field(default_factory=dict)
    systemd: bool = False
    apt_lists: bool = True  # False: apt-get install fails until apt-get update
    journal: str = ""
    answering_after: int = 0  # health polls that fail before it answers
    unit_state: str = "activating"
    ran: list[list[str]] = field(default_factory=list)
    slept: float = 0.0

    def run(self, argv: Sequence[str]) -> Ran:
        command = list(argv)
        self.ran.append(command)
        match command:
            case ["apt-get", "update", *_]:
                self.apt_lists = True
            case ["apt-get", "install", *packages]:
                if not self.apt_lists:
                    return Ran(100, "E: Unable to locate package docker.io")
                if "docker.io" in packages:
                    self.programs |= {"docker", "dockerd"}
                    self.groups.setdefault("docker", [])
            case ["useradd", *_, name]:
                uid = 100 + len(self.users)
                self.users[name] = (uid, uid)
            case ["usermod", "--append", "--groups", group, name]:
                self.groups[group].append(name)
            case ["systemctl", "show", *_]:
                return Ran(0, "abc123\n")
            case ["systemctl", "is-active", *_]:
                return Ran(3, f"{self.unit_state}\n")
            case ["journalctl", *_]:
                return Ran(0, self.journal)
        return Ran(0, "")

    def has_program(self, name: str) -> bool:
        return name in self.programs

    def user_ids(self, name: str) -> tuple[int, int] | None:
        return self.users.get(name)

    def group_members(self, name: str) -> list[str] | None:
        return self.groups.get(name)

    def owner(self, path: Path) -> Owner | None:
        return self.paths.get(path)

    def make_dir(self, path: Path, uid: int, gid: int, mode: int) -> None:
        self.paths[path] = Owner(uid, gid, mode)
        self.entries.setdefault(path, {})

    def foreign_entries(self, path: Path, uid: int) -> list[str]:
        return sorted(name for name, owner in self.entries.get(path, {}).items() if owner != uid)

    def write_file(self, path: Path, text: str) -> bool:
        changed = self.files.get(path) != text
        self.files[path] = text
        return changed

    def systemd_running(self) -> bool:
        return self.systemd

    def answers(self, url: str) -> bool:
        if self.answering_after > 0:
            self.answering_after -= 1
            return False
        return True

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
