"""The systemd unit `rivetr install` writes: systemd's own checker accepts it, it is hardened as
the issue asks, and what cannot be written into it safely is refused naming the field."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rivetr.install.unit import InstallError, UnitSettings, exec_start_here, render_unit


def unit_text(data_dir: str = "/var/lib/rivetr") -> str:
    return render_unit(UnitSettings("rivetr", Path(data_dir), exec_start_here()))


def directives(text: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#"]
    return {key: value for key, value in pairs}


def test_systemd_analyze_verify_passes_without_a_warning(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI"):
            pytest.fail("CI checks the unit with systemd-analyze: tests/run installs systemd")
        pytest.skip("systemd-analyze is missing (apt-get install systemd)")
    unit = tmp_path / "rivetr.service"
    unit.write_text(unit_text())
    checked = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    # systemd reports a key it ignores on stderr and still exits 0
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")


def test_systemd_rates_the_units_exposure_at_most_2_of_10(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is missing (apt-get install systemd)")
    unit = tmp_path / "rivetr.service"
    unit.write_text(unit_text())
    rated = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=true",
            "--threshold=20",
            "--no-pager",
            str(unit),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rated.returncode == 0, rated.stdout[-300:]


def test_the_unit_is_hardened_and_may_only_bind_low_ports() -> None:
    found = directives(unit_text())
    assert found["NoNewPrivileges"] == "yes"
    assert found["ProtectSystem"] == "strict"
    assert found["ReadWritePaths"] == "/var/lib/rivetr"
    assert found["ProtectHome"] == "yes"
    assert found["PrivateTmp"] == "yes"
    assert found["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    assert found["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert found["Restart"] == "on-failure"
    assert found["KillSignal"] == "SIGTERM"
    assert int(found["TimeoutStopSec"]) > 30  # drain_s's default, with room to end the rest
    assert found["User"] == "rivetr"
    assert found["Environment"] == "RIVETR_DATA=/var/lib/rivetr"


def test_the_command_is_the_rivetr_beside_this_interpreter() -> None:
    program = exec_start_here()[0]
    assert Path(program).is_file()
    assert exec_start_here()[-1] == "serve"


@pytest.mark.parametrize(
    ("data_dir", "field"),
    [
        ("relative/dir", "data directory"),
        ("/srv/my data", "data directory"),
        ("/srv/%h", "data directory"),
        ("/srv/$HOME", "data directory"),
        ("/srv/../etc", "data directory"),
        ("/srv/line\nExecStartPre=/bin/sh", "data directory"),
    ],
)
def test_a_path_the_unit_cannot_carry_is_refused_naming_it(data_dir: str, field: str) -> None:
    with pytest.raises(InstallError, match=f"^{field}: "):
        UnitSettings("rivetr", Path(data_dir), ("/opt/rivetr/bin/rivetr", "serve"))


@pytest.mark.parametrize("user", ["Root", "9lives", "a b", "x" * 33, ""])
def test_a_bad_user_name_is_refused(user: str) -> None:
    with pytest.raises(InstallError, match=r"^user: "):
        UnitSettings(user, Path("/var/lib/rivetr"), ("/opt/rivetr/bin/rivetr", "serve"))


def test_a_program_path_the_unit_cannot_carry_is_refused() -> None:
    with pytest.raises(InstallError, match=r"^program: "):
        UnitSettings("rivetr", Path("/var/lib/rivetr"), ("/home/me/my venv/bin/rivetr", "serve"))
