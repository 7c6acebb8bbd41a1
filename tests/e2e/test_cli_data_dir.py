"""The `rivetr` command finds the data directory the service uses (from --data-dir,
RIVETR_DATA, rivetr.toml or ./rivetr-data), and when it finds none, a command about existing
data says where it looked and how to name the right one, creating nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import rivetr_command

pytestmark = pytest.mark.e2e


def rivetr(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command run in `cwd` with no RIVETR_* setting but `env`, as a fresh shell would."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RIVETR_")}
    return subprocess.run(
        rivetr_command(*args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **env},
    )


@pytest.mark.parametrize(
    "command",
    [
        ("deploy", "site"),
        ("rollback", "site", "--wait"),
        ("logs", "site"),
        ("tokens", "list"),
        ("tokens", "revoke", "tok_1"),
        ("events", "export"),
        ("events", "export", "--app", "site"),
        ("audit", "verify"),
        ("projections", "rebuild"),
        ("secrets", "rotate"),
    ],
)
def test_cli_outside_the_data_directory_says_where_it_looked(tmp_path, command) -> None:
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    refused = rivetr(elsewhere, *command)
    assert refused.returncode == 2, refused.stderr
    assert str(elsewhere / "rivetr-data") in refused.stderr
    assert "the default" in refused.stderr
    assert "--data-dir" in refused.stderr
    assert "RIVETR_DATA" in refused.stderr
    assert list(elsewhere.iterdir()) == []  # no empty data directory left behind


def test_cli_names_where_a_missing_data_directory_was_given(tmp_path) -> None:
    missing = tmp_path / "nowhere"
    by_flag = rivetr(tmp_path, "deploy", "site", "--data-dir", str(missing))
    assert (by_flag.returncode, str(missing) in by_flag.stderr) == (2, True)
    assert "from command line" in by_flag.stderr
    by_env = rivetr(tmp_path, "tokens", "list", RIVETR_DATA=str(missing))
    assert "from environment variable RIVETR_DATA" in by_env.stderr
    (tmp_path / "rivetr.toml").write_text(f'data_dir = "{missing}"\n')
    by_file = rivetr(tmp_path, "tokens", "list")
    assert by_file.returncode == 2
    assert "from rivetr.toml" in by_file.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    no_log = rivetr(tmp_path, "events", "export", "--data-dir", str(empty))
    assert no_log.returncode == 2
    assert "holds no events.db" in no_log.stderr
    assert not missing.exists()
    assert list(empty.iterdir()) == []


def test_cli_finds_the_data_directory_by_flag_environment_or_config(tmp_path) -> None:
    data = tmp_path / "srv" / "rivetr"
    first = rivetr(tmp_path, "tokens", "create", "--name", "me", "--data-dir", str(data))
    assert first.returncode == 0, first.stderr  # a first-run command starts the directory
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    by_env = rivetr(elsewhere, "tokens", "list", RIVETR_DATA=str(data))
    assert by_env.returncode == 0, by_env.stderr
    assert "\tme\t" in by_env.stdout
    (elsewhere / "rivetr.toml").write_text(f'data_dir = "{data}"\n')
    by_file = rivetr(elsewhere, "tokens", "list")
    assert by_file.returncode == 0, by_file.stderr
    assert "\tme\t" in by_file.stdout
    unknown = rivetr(elsewhere, "deploy", "site")
    assert unknown.returncode == 1
    assert "no application named 'site'" in unknown.stderr
    exported = rivetr(elsewhere, "events", "export")
    (elsewhere / "log.jsonl").write_text(exported.stdout)
    os.remove(elsewhere / "rivetr.toml")
    checked = rivetr(elsewhere, "audit", "verify", "--file", "log.jsonl")  # needs no data dir
    assert checked.returncode == 0, checked.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == ["log.jsonl"]
