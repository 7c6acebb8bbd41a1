"""What `rivetr doctor` makes of what it measured: each finding's status and its advice."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import pytest

from rivetr.service.doctor import findings
from rivetr.service.doctor.findings import CertificateState, DatabaseBackups, GiB, Resolved

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_an_engine_that_does_not_answer_fails_with_how_to_start_it() -> None:
    assert findings.engine("docker 27.1 at unix:///var/run/docker.sock", "").status == "ok"
    failed = findings.engine(None, "connection refused")
    assert failed.status == "fail"
    assert "connection refused" in failed.detail
    assert "systemctl start docker" in failed.action


@pytest.mark.parametrize(
    ("state", "status"),
    [("rivetr", "ok"), ("free", "warn"), ("denied", "warn"), ("taken", "fail")],
)
def test_a_port_held_by_another_program_fails_and_names_the_setting(
    state: findings.PortState, status: str
) -> None:
    found = findings.port(443, state, "nginx/1.22")
    assert found.status == status
    if state == "taken":
        assert "nginx/1.22" in found.detail
        assert "proxy_https_port" in found.action


def test_a_domain_is_judged_by_where_it_points() -> None:
    here = {"203.0.113.7"}
    assert findings.domain(Resolved("a.example", ("203.0.113.7",)), here).status == "ok"
    elsewhere = findings.domain(Resolved("b.example", ("198.51.100.1",)), here)
    assert elsewhere.status == "warn"
    assert "198.51.100.1" in elsewhere.detail
    nowhere = findings.domain(Resolved("c.example", (), "Name or service not known"), here)
    assert nowhere.status == "fail"
    assert "203.0.113.7" in nowhere.action


@pytest.mark.parametrize(
    ("free", "total", "status"),
    [(50 * GiB, 100 * GiB, "ok"), (1 * GiB, 100 * GiB, "warn"), (GiB // 20, 100 * GiB, "fail")],
)
def test_disk_space_left(free: int, total: int, status: str) -> None:
    assert findings.disk("/var/lib/rivetr", free, total).status == status


def test_a_clock_behind_the_log_fails_and_an_unsynchronised_one_warns() -> None:
    assert findings.clock(NOW, NOW - timedelta(seconds=5), True).status == "ok"
    assert findings.clock(NOW, NOW + timedelta(minutes=5), True).status == "fail"
    assert findings.clock(NOW, None, False).status == "warn"
    assert "cannot tell" in findings.clock(NOW, None, None).detail


def test_a_key_file_others_may_read_fails_with_the_command_that_fixes_it() -> None:
    mode = stat.S_IFREG | 0o644
    found = findings.private_file("key file", "/d/secrets.key", mode, owned_by_me=True)
    assert found.status == "fail"
    assert "chmod 600 /d/secrets.key" in found.action
    folder = findings.private_file("data directory", "/d", stat.S_IFDIR | 0o755, True)
    assert "chmod 700 /d" in folder.action
    tight = findings.private_file("key file", "/d/secrets.key", stat.S_IFREG | 0o600, True)
    assert tight.status == "ok"
    assert findings.private_file("key file", "/d/k", stat.S_IFREG | 0o600, False).status == "fail"
    assert findings.private_file("key file", "/d/k", None, True).status == "warn"


def test_database_backups_old_failed_or_missing_are_worth_a_look() -> None:
    found = findings.backups(
        [
            DatabaseBackups("t/p/fresh", "d1", True, NOW - timedelta(hours=3), False),
            DatabaseBackups("t/p/stale", "d2", True, NOW - timedelta(days=3), False),
            DatabaseBackups("t/p/never", "d3", False, None, False),
            DatabaseBackups("t/p/failing", "d4", True, NOW - timedelta(hours=3), True),
        ],
        NOW,
    )
    assert [f.status for f in found] == ["ok", "warn", "warn", "warn"]
    assert "rivetr db schedule d3" in found[2].action
    assert "failed" in found[3].detail


def test_certificates_close_to_expiry_or_never_issued() -> None:
    found = findings.certificates(
        [
            CertificateState("a.example", NOW + timedelta(days=60), None),
            CertificateState("b.example", NOW + timedelta(days=10), "rate limited"),
            CertificateState("c.example", NOW + timedelta(days=1), None),
            CertificateState("d.example", None, "DNS problem: NXDOMAIN"),
            CertificateState("e.example", None, None),  # nothing asked yet: nothing to say
        ],
        NOW,
    )
    assert [(f.check, f.status) for f in found] == [
        ("certificate a.example", "ok"),
        ("certificate b.example", "warn"),
        ("certificate c.example", "fail"),
        ("certificate d.example", "fail"),
    ]
    assert "rate limited" in found[1].detail


def test_the_control_plane_backup() -> None:
    assert findings.control_plane(None, False, NOW).status == "warn"
    assert findings.control_plane(NOW - timedelta(hours=5), False, NOW).status == "ok"
    stale = findings.control_plane(NOW - timedelta(days=4), False, NOW)
    assert stale.status == "warn"
    assert "rivetr backup" in stale.action
    assert findings.control_plane(NOW - timedelta(hours=5), True, NOW).status == "warn"
