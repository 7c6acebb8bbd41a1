"""`rivetr events export` and `rivetr audit verify --file` as a person runs them: the owner's
password hash is not in the file, the file still verifies and says what it could not prove, and
a tampered line is still named."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import create_admin, run_cli

pytestmark = pytest.mark.e2e


def test_a_redacted_export_verifies_and_says_its_redacted_lines_are_not_proven(tmp_path):
    data = tmp_path / "data"
    create_admin(data, "owner@example.com", "a long enough passphrase")
    assert run_cli(data, "tokens", "create", "--name", "ci").returncode == 0
    exported = run_cli(data, "events", "export")
    assert exported.returncode == 0, exported.stderr
    assert "$argon2" not in exported.stdout
    file = tmp_path / "log.jsonl"
    file.write_text(exported.stdout)

    checked = run_cli(data, "audit", "verify", "--file", str(file))
    assert checked.returncode == 0, checked.stderr
    assert "hash chain intact" in checked.stdout
    assert "1 line had a password hash redacted" in checked.stdout
    assert "content is not proven" in checked.stdout

    lines = exported.stdout.splitlines()
    token_line = next(i for i, line in enumerate(lines) if '"token.created"' in line)
    tampered = json.loads(lines[token_line])
    tampered["actor"] = "mallory"
    lines[token_line] = json.dumps(tampered)
    file.write_text("\n".join(lines) + "\n")
    refused = run_cli(data, "audit", "verify", "--file", str(file))
    assert refused.returncode == 1
    assert f"position {tampered['position']}" in refused.stderr
