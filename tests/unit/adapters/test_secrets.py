"""Sealing secrets: deterministic, bound to their place, and opened only with the right key."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from rivetr.adapters.secrets import KEY_BYTES, SecretBox, SecretError, key_id, new_key


@pytest.fixture
def box(tmp_path: Path) -> SecretBox:
    return SecretBox(tmp_path / "data" / "secrets.key")


def test_a_sealed_value_opens_to_itself_and_hides_it(box: SecretBox) -> None:
    sealed = box.seal("app:web:env:DB", "postgres://user:hunter2@db/web")

    assert sealed.startswith(f"rvs2:{box.current_key_id}:")
    assert "hunter2" not in sealed
    assert box.open("app:web:env:DB", sealed) == "postgres://user:hunter2@db/web"


def test_sealing_is_deterministic_so_an_unchanged_value_looks_unchanged(box: SecretBox) -> None:
    assert box.seal("app:web:env:A", "1") == box.seal("app:web:env:A", "1")
    assert box.seal("app:web:env:A", "1") != box.seal("app:web:env:A", "2")
    assert box.seal("app:web:env:A", "1") != box.seal("app:web:env:B", "1")
    # what looks sealed is sealed again, never taken as it is
    sealed = box.seal("app:web:env:A", "1")
    assert box.seal("app:web:env:A", sealed) != sealed
    assert box.open("app:web:env:A", box.seal("app:web:env:A", sealed)) == sealed


def test_a_value_moved_to_another_place_or_altered_does_not_open(box: SecretBox) -> None:
    sealed = box.seal("app:web:env:DB", "secret")

    with pytest.raises(SecretError, match="altered or moved"):
        box.open("app:api:env:DB", sealed)
    with pytest.raises(SecretError, match="altered or moved"):
        box.open(
            "app:web:env:DB", sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
        )


def test_a_value_stored_before_sealing_existed_opens_as_itself(box: SecretBox) -> None:
    assert box.open("app:web:env:A", "plain old value") == "plain old value"


def test_the_key_file_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secrets.key"
    sealed = SecretBox(path).seal("c", "v")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SecretBox(path).open("c", sealed) == "v"  # another process, the same key


def test_rotation_seals_with_a_new_key_and_still_opens_the_old_values(tmp_path: Path) -> None:
    path = tmp_path / "secrets.key"
    box = SecretBox(path)
    old = box.seal("c", "v")
    service = SecretBox(path)  # the running service, which learns of the rotation by itself
    assert service.open("c", old) == "v"

    new_id = box.rotate()

    assert new_id == box.current_key_id != old.split(":")[1]
    new = box.seal("c", "v")
    assert new.startswith(f"rvs2:{new_id}:")
    assert box.open("c", old) == "v"
    assert service.open("c", new) == "v"  # an unknown key id makes it read the file again
    assert len(path.read_text().split()) == 2


def test_a_key_that_is_gone_is_named(tmp_path: Path) -> None:
    sealed = SecretBox(tmp_path / "a.key").seal("c", "v")

    with pytest.raises(SecretError, match=r"sealed with key \w{8}, which .*b\.key does not hold"):
        SecretBox(tmp_path / "b.key").open("c", sealed)


def test_a_key_from_the_environment_replaces_the_file(tmp_path: Path) -> None:
    key = new_key()
    box = SecretBox(tmp_path / "secrets.key", base64.b64encode(key).decode())

    assert box.seal("c", "v").startswith(f"rvs2:{key_id(key)}:")
    assert not (tmp_path / "secrets.key").exists()
    with pytest.raises(SecretError, match="RIVETR_SECRET_KEY is set"):
        box.rotate()


@pytest.mark.parametrize("text", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_key_is_refused_with_its_origin(tmp_path: Path, text: str) -> None:
    box = SecretBox(tmp_path / "secrets.key", text)

    with pytest.raises(SecretError, match=f"RIVETR_SECRET_KEY: a key must be .*{KEY_BYTES}|base64"):
        box.seal("c", "v")
