"""`rivetr install`'s steps on a machine in memory: what it runs on a fresh Debian, that a
second run changes nothing but the code, and what it says when it cannot go on."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from rivetr.install.host import Owner
from rivetr.install.installer import SETUP_CODE, Installer, InstallPlan
from rivetr.install.unit import InstallError, UnitSettings
from rivetr.service.commands.setup import SETUP_CODE_LOGGED
from tests.unit.install.fake_host import FakeHost

DATA = Path("/var/lib/rivetr")
UNIT = Path("/etc/systemd/system/rivetr.service")
FIRST_RUN_LOG = (
    "rivetr 0.1.0 on http://127.0.0.1:8080, data in /var/lib/rivetr\n"
    f"{SETUP_CODE_LOGGED % 'Zq-3_x9'}\n"
)


def installer(host: FakeHost, exec_start: tuple[str, ...] = ("/opt/rivetr/bin/rivetr", "serve")):
    said: list[str] = []
    plan = InstallPlan(
        UnitSettings("rivetr", DATA, exec_start), UNIT, "http://127.0.0.1:8080/api/v1/health", 5
    )
    return Installer(host, plan, said.append), said


def test_a_fresh_debian_gets_the_engine_the_user_the_data_dir_and_the_unit() -> None:
    host = FakeHost(apt_lists=False)
    code = installer(host)[0].install()
    assert code is None  # no systemd: nothing started
    assert ["apt-get", "update", "-q"] in host.ran
    assert host.has_program("dockerd")
    uid, gid = host.users["rivetr"]
    assert "rivetr" in host.groups["docker"]
    assert host.paths[DATA] == Owner(uid, gid, 0o700)
    assert "ExecStart=/opt/rivetr/bin/rivetr serve" in host.files[UNIT]
    assert "ReadWritePaths=/var/lib/rivetr" in host.files[UNIT]
    assert not any(command[0] == "systemctl" for command in host.ran)


def test_apt_lists_are_fetched_only_when_the_install_needs_them() -> None:
    host = FakeHost()
    installer(host)[0].install()
    assert ["apt-get", "update", "-q"] not in host.ran


def test_an_engine_already_there_is_kept() -> None:
    host = FakeHost(programs={"podman", "useradd"})
    installer(host)[0].install()
    assert not any(command[0] == "apt-get" for command in host.ran)


def test_a_second_run_rewrites_nothing_and_keeps_the_data_dir() -> None:
    host = FakeHost()
    installer(host)[0].install()
    host.entries[DATA] = {"events.db": host.users["rivetr"][0]}
    host.ran.clear()
    again, said = installer(host)
    again.install()
    assert not any(command[0] in {"useradd", "usermod", "apt-get"} for command in host.ran)
    assert f"data: {DATA} kept as it is" in said
    assert f"unit: kept {UNIT}" in said


def test_a_data_dir_of_another_owner_is_given_to_the_user_and_its_foreign_files_named() -> None:
    host = FakeHost(users={"rivetr": (120, 120)}, groups={"docker": ["rivetr"]})
    host.paths[DATA] = Owner(0, 0, 0o755)
    host.entries[DATA] = {"events.db": 0, "logs": 120}
    run, said = installer(host)
    run.install()
    assert host.paths[DATA] == Owner(120, 120, 0o700)
    assert any("events.db" in line and "chown -R rivetr:" in line for line in said)


def test_under_systemd_the_service_is_restarted_and_its_setup_code_read_from_its_journal() -> None:
    host = FakeHost(systemd=True, journal=FIRST_RUN_LOG, answering_after=3)
    code = installer(host)[0].install()
    assert code == "Zq-3_x9"
    assert ["systemctl", "daemon-reload"] in host.ran
    assert ["systemctl", "enable", "--quiet", "rivetr.service"] in host.ran
    assert ["systemctl", "restart", "rivetr.service"] in host.ran
    journal_reads = [command for command in host.ran if command[0] == "journalctl"]
    assert journal_reads[-1][-1] == "_SYSTEMD_INVOCATION_ID=abc123"


def test_every_code_the_service_makes_is_found_in_what_it_logs() -> None:
    # drawn in the test, not as parameters: pytest-xdist's workers must collect the same ids
    for code in [secrets.token_urlsafe(12) for _ in range(200)]:
        logged = f"x WARNING rivetr.web.app: {SETUP_CODE_LOGGED % code}"
        assert SETUP_CODE.search(logged)[1] == code, logged


def test_under_systemd_an_instance_with_an_account_prints_no_code() -> None:
    host = FakeHost(systemd=True, journal="rivetr 0.1.0 on http://127.0.0.1:8080\n")
    assert installer(host)[0].install() is None


def test_a_service_that_fails_to_start_is_reported_with_its_journal() -> None:
    host = FakeHost(
        systemd=True,
        journal="rivetr: bad config value 'x' for 'port'\n",
        answering_after=1000,
        unit_state="failed",
    )
    with pytest.raises(InstallError, match=r"is failed(.|\n)*bad config value"):
        installer(host)[0].install()


def test_a_service_that_never_answers_is_given_up_after_the_wait() -> None:
    host = FakeHost(systemd=True, answering_after=1000)
    with pytest.raises(InstallError, match="did not answer"):
        installer(host)[0].install()
    assert host.slept == pytest.approx(5.0)


def test_no_engine_and_no_apt_get_says_what_to_do() -> None:
    host = FakeHost(programs={"useradd"})
    with pytest.raises(InstallError, match="install Docker or Podman"):
        installer(host)[0].install()


def test_without_systemd_it_says_how_to_start_the_service_as_its_user() -> None:
    run, said = installer(FakeHost())
    run.install()
    assert (
        "  cd /var/lib/rivetr && setpriv --reuid=rivetr --regid=rivetr --init-groups "
        "--no-new-privs --inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service "
        "--bounding-set=-all,+net_bind_service env HOME=/var/lib/rivetr "
        "RIVETR_DATA=/var/lib/rivetr /opt/rivetr/bin/rivetr serve\n"
    ) in said[-1]
