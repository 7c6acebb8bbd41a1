"""The certificates' archive of a control-plane backup: packed and unpacked owner-only, and a
crafted archive refused where it would write outside the folder (without tar's `data` filter,
which Debian 12's Python lacks)."""

from __future__ import annotations

import io
import stat
import tarfile
from pathlib import Path

import pytest

from rivetr.adapters.control_plane_files import pack_certs, unpack_certs


def test_certificates_round_trip_owner_only(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    (certs / "acme").mkdir(parents=True)
    (certs / "shop.example.crt").write_bytes(b"chain")
    (certs / "acme" / "account.key").write_bytes(b"key")
    (certs / "link.crt").symlink_to(certs / "shop.example.crt")
    archive = tmp_path / "certs.tar"

    assert pack_certs(certs, archive) == 2  # the link is not a certificate of its own

    restored = tmp_path / "restored"
    assert unpack_certs(archive, restored) == 2
    assert (restored / "acme" / "account.key").read_bytes() == b"key"
    assert stat.S_IMODE((restored / "shop.example.crt").stat().st_mode) == 0o600
    assert stat.S_IMODE((restored / "acme").stat().st_mode) == 0o700


@pytest.mark.parametrize("name", ["../escaped.key", "/etc/escaped.key", "a/../../escaped.key"])
def test_an_archive_that_would_write_outside_the_folder_is_refused(
    tmp_path: Path, name: str
) -> None:
    archive = tmp_path / "crafted.tar"
    with tarfile.open(archive, "w") as tar:
        member = tarfile.TarInfo(name)
        member.size = 4
        tar.addfile(member, io.BytesIO(b"evil"))

    with pytest.raises(ValueError, match="leaves its folder"):
        unpack_certs(archive, tmp_path / "certs")
    assert not (tmp_path / "escaped.key").exists()
