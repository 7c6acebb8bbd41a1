"""The busybox base image's root fs, and importing it only once."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from rivetr.adapters.runtime.baseimage import (
    BUSYBOX_IMAGE,
    busybox_applets,
    busybox_rootfs_tar,
    ensure_busybox_image,
)
from rivetr.adapters.runtime.fake import FakeRuntime

BUSYBOX = Path("/bin/busybox")
needs_busybox = pytest.mark.skipif(
    not BUSYBOX.is_file(), reason="/bin/busybox absent (apt-get install busybox-static)"
)


@pytest.fixture(scope="module")
def rootfs() -> dict[str, tarfile.TarInfo]:
    if not BUSYBOX.is_file():
        pytest.skip("/bin/busybox absent (apt-get install busybox-static)")
    with tarfile.open(fileobj=io.BytesIO(busybox_rootfs_tar(BUSYBOX))) as tar:
        return {member.name: member for member in tar.getmembers()}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_busybox_itself_is_an_executable_file_with_the_host_binary_inside(
    rootfs: dict[str, tarfile.TarInfo],
) -> None:
    binary = rootfs["bin/busybox"]

    assert binary.isfile()
    assert binary.mode == 0o755
    assert binary.size == BUSYBOX.stat().st_size


def test_every_applet_but_busybox_is_a_symlink_to_it(rootfs: dict[str, tarfile.TarInfo]) -> None:
    applets = busybox_applets(BUSYBOX)

    assert "busybox" not in applets
    assert {"sh", "httpd", "wget", "nc"} <= set(applets)
    for applet in applets:
        assert rootfs[f"bin/{applet}"].issym()
        assert rootfs[f"bin/{applet}"].linkname == "busybox"


def test_tmp_is_world_writable_and_sticky(rootfs: dict[str, tarfile.TarInfo]) -> None:
    assert rootfs["tmp"].isdir()
    assert rootfs["tmp"].mode == 0o1777


def test_var_www_is_an_empty_directory(rootfs: dict[str, tarfile.TarInfo]) -> None:
    assert rootfs["var/www"].isdir()
    assert not [name for name in rootfs if name.startswith("var/www/")]


def test_passwd_and_group_know_root_nobody_and_www_data() -> None:
    if not BUSYBOX.is_file():
        pytest.skip("/bin/busybox absent (apt-get install busybox-static)")
    with tarfile.open(fileobj=io.BytesIO(busybox_rootfs_tar(BUSYBOX))) as tar:
        passwd = _read(tar, "etc/passwd")
        group = _read(tar, "etc/group")

    users = {line.split(":")[0]: line.split(":")[2] for line in passwd.splitlines()}
    groups = {line.split(":")[0] for line in group.splitlines()}
    assert users == {"root": "0", "www-data": "33", "nobody": "65534"}
    assert {"root", "www-data", "nogroup"} <= groups


def test_every_entry_belongs_to_root(rootfs: dict[str, tarfile.TarInfo]) -> None:
    assert {(m.uid, m.gid) for m in rootfs.values()} == {(0, 0)}


def test_a_missing_busybox_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="apt-get install busybox-static"):
        busybox_rootfs_tar(tmp_path / "busybox")


@needs_busybox
@pytest.mark.anyio
async def test_ensure_busybox_image_imports_only_when_the_image_is_missing() -> None:
    runtime = FakeRuntime()

    assert await ensure_busybox_image(runtime) == BUSYBOX_IMAGE
    assert await ensure_busybox_image(runtime) == BUSYBOX_IMAGE

    assert runtime.imported == [BUSYBOX_IMAGE]
    assert await runtime.image_exists(BUSYBOX_IMAGE)


def _read(tar: tarfile.TarFile, name: str) -> str:
    member = tar.extractfile(name)
    assert member is not None
    return member.read().decode()
