"""What `rivetr install` does to a machine, step by step, each step idempotent: a container engine
(Debian's docker.io when none is there), the `rivetr` system user in the engine's group, the data
directory (0700, the user's), the systemd unit, and, under systemd, the service (re)started and
its one-time setup code read back from its journal. Re-running it is the upgrade: the unit is
rewritten and the service restarted with the code now installed; the data is never touched."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rivetr.install.host import Host, Ran
from rivetr.install.unit import UNIT_NAME, InstallError, UnitSettings, render_unit

# the line `rivetr serve` logs on a first run (rivetr/web/app.py)
SETUP_CODE = re.compile(r"give the code ([A-Za-z0-9_-]+)")
ENGINE_GROUP = "docker"


@dataclass(frozen=True)
class InstallPlan:
    """Where things go and how long to wait for the service to answer."""

    unit: UnitSettings
    unit_path: Path
    health_url: str
    wait_s: float = 90.0


Say = Callable[[str], None]


class Installer:
    def __init__(self, host: Host, plan: InstallPlan, say: Say) -> None:
        self.host = host
        self.plan = plan
        self.say = say

    def install(self) -> str | None:
        """Every step in order; the setup code when the service was started with no account
        yet, else None.

        Raises:
            InstallError: a step failed; it says which and what the machine answered.
        """
        self.engine()
        uid, gid = self.user()
        self.data_dir(uid, gid)
        self.unit_file()
        return self.start()

    def engine(self) -> None:
        """A container engine: one found is kept as it is; else Debian's docker.io."""
        for program in ("docker", "dockerd", "podman"):
            if self.host.has_program(program):
                self.say(f"container engine: {program} is installed")
                return
        if not self.host.has_program("apt-get"):
            raise InstallError(
                "no container engine (docker or podman) and no apt-get to install one: "
                "install Docker or Podman, then run `rivetr install` again"
            )
        self.apt_install(["docker.io"])
        self.say("container engine: installed Debian's docker.io")

    def apt_install(self, packages: Sequence[str]) -> None:
        """`packages` installed; the package lists fetched first only when the install fails
        without them (a fresh image has none, a server's may be stale)."""
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
        if self.host.run(install).status == 0:
            return
        updated = self.host.run(["apt-get", "update", "-q"])
        if updated.status != 0:
            raise InstallError(f"apt-get update failed:\n{_tail(updated.output)}")
        again = self.host.run(install)
        if again.status != 0:
            wanted = " ".join(packages)
            raise InstallError(f"apt-get install {wanted} failed:\n{_tail(again.output)}")

    def user(self) -> tuple[int, int]:
        """The system user the service runs as, in the engine's group; its (uid, gid)."""
        name = self.plan.unit.user
        ids = self.host.user_ids(name)
        if ids is None:
            self._must(
                "useradd",
                "--system",
                "--user-group",
                "--home-dir",
                str(self.plan.unit.data_dir),
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "--comment",
                "Rivetr",
                name,
            )
            ids = self.host.user_ids(name)
            if ids is None:
                raise InstallError(f"useradd said it made user {name!r}, yet it is not there")
            self.say(f"user: made the system user {name}")
        else:
            self.say(f"user: {name} exists")
        members = self.host.group_members(ENGINE_GROUP)
        if members is None:
            self.say(
                f"user: no {ENGINE_GROUP!r} group here: {name} reaches the engine only if its "
                "socket lets it (set engine_url in the data directory's rivetr.toml)"
            )
        elif name not in members:
            self._must("usermod", "--append", "--groups", ENGINE_GROUP, name)
            self.say(f"user: {name} may use the engine (group {ENGINE_GROUP})")
        return ids

    def data_dir(self, uid: int, gid: int) -> None:
        """The data directory, the user's and 0700; what it holds is never changed."""
        path = self.plan.unit.data_dir
        found = self.host.owner(path)
        if found is None:
            self.host.make_dir(path, uid, gid, 0o700)
            self.say(f"data: made {path} (0700, {self.plan.unit.user}'s)")
            return
        if (found.uid, found.gid, found.mode) != (uid, gid, 0o700):
            self.host.make_dir(path, uid, gid, 0o700)
            self.say(f"data: {path} given to {self.plan.unit.user}, 0700 (what it holds kept)")
        else:
            self.say(f"data: {path} kept as it is")
        foreign = self.host.foreign_entries(path, uid)
        if foreign:
            self.say(
                f"data: {', '.join(foreign)} in {path} belong to another user, and the service "
                f"may fail to open them: chown -R {self.plan.unit.user}: {path}"
            )

    def unit_file(self) -> None:
        changed = self.host.write_file(self.plan.unit_path, render_unit(self.plan.unit))
        self.say(f"unit: {'wrote' if changed else 'kept'} {self.plan.unit_path}")

    def start(self) -> str | None:
        """Under systemd: the service enabled and (re)started, its answer awaited and its setup
        code read from the journal. Elsewhere: how to start it, and None."""
        if not self.host.systemd_running():
            self.say(
                "service: systemd is not running here (a container?), so nothing was started. "
                f"Start it in the foreground as {self.plan.unit.user}, as the unit would:\n"
                f"  {self.foreground_command()}\n"
                "It logs its one-time setup code when it starts with no account yet. One "
                "already running goes on with the code it started with: restart it."
            )
            return None
        self._must("systemctl", "daemon-reload")
        self._must("systemctl", "enable", "--quiet", UNIT_NAME)
        self._must("systemctl", "restart", UNIT_NAME)
        invocation = self._must("systemctl", "show", "--value", "-p", "InvocationID", UNIT_NAME)
        self._await_answer()
        self.say(f"service: {UNIT_NAME} is running and answers {self.plan.health_url}")
        return self._setup_code(invocation.output.strip())

    def foreground_command(self) -> str:
        """The unit's command as a shell line for root: the user's ids and groups, no new
        privileges, and binding low ports the one capability kept (setpriv execs, so signals
        reach the service itself)."""
        import shlex

        unit = self.plan.unit
        as_user = [
            "setpriv",
            f"--reuid={unit.user}",
            f"--regid={unit.user}",
            "--init-groups",
            "--no-new-privs",
            *(f"--{each}=-all,+net_bind_service" for each in ("inh-caps", "ambient-caps")),
            "--bounding-set=-all,+net_bind_service",
            "env",
            f"HOME={unit.data_dir}",
            f"RIVETR_DATA={unit.data_dir}",
        ]
        started = shlex.join([*as_user, *unit.exec_start])
        return f"cd {shlex.quote(str(unit.data_dir))} && {started}"

    def _await_answer(self) -> None:
        waited = 0.0
        while not self.host.answers(self.plan.health_url):
            state = self.host.run(["systemctl", "is-active", UNIT_NAME]).output.strip()
            if state == "failed" or waited >= self.plan.wait_s:
                journal = self.host.run(
                    ["journalctl", "-u", UNIT_NAME, "-n", "30", "-o", "cat", "--no-pager"]
                )
                raise InstallError(
                    f"{UNIT_NAME} is {state} and did not answer {self.plan.health_url} "
                    f"within {waited:.0f} s; its journal ends:\n{_tail(journal.output)}"
                )
            self.host.sleep(0.5)
            waited += 0.5

    def _setup_code(self, invocation: str) -> str | None:
        # the code is logged before the service answers; journald may take a moment to have it
        for _ in range(10):
            journal = self.host.run(
                ["journalctl", "-o", "cat", "--no-pager", f"_SYSTEMD_INVOCATION_ID={invocation}"]
            )
            found = SETUP_CODE.search(journal.output)
            if found:
                return found.group(1)
            self.host.sleep(0.5)
        return None

    def _must(self, *argv: str) -> Ran:
        ran = self.host.run(argv)
        if ran.status != 0:
            raise InstallError(f"{' '.join(argv)} failed ({ran.status}):\n{_tail(ran.output)}")
        return ran


def _tail(output: str, lines: int = 20) -> str:
    return "\n".join(output.rstrip().splitlines()[-lines:])
