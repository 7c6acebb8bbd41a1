"""The busybox base image: a 2 MB root file system made from the host's static busybox.

No registry is reachable from a Rivetr host, so the image that tests, examples and docs build
`FROM` is made locally: imported, never pulled.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import anyio.to_thread

from rivetr.adapters.runtime.base import ContainerRuntime

BUSYBOX_IMAGE = "rivetr/busybox:latest"

_PASSWD = """\
root:x:0:0:root:/root:/bin/sh
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""

_GROUP = """\
root:x:0:
www-data:x:33:
nogroup:x:65534:
"""


def busybox_applets(busybox: Path = Path("/bin/busybox")) -> list[str]:
    """The applet names `busybox --list` prints, without `busybox` itself.

    A `bin/busybox` symlink would overwrite the binary it points to, so it is left out.
    """
    _require(busybox)
    out = subprocess.run(
        [str(busybox), "--list"], check=True, capture_output=True, text=True
    ).stdout
    return [name for name in out.split() if name != "busybox"]


def busybox_rootfs_tar(busybox: Path = Path("/bin/busybox")) -> bytes:
    """Build, in memory, an uncompressed tar of a minimal root fs around `busybox`.

    It holds `bin/busybox` (0755), one `bin/<applet>` symlink per applet, `etc/passwd` and
    `etc/group` (root, www-data, nobody), `tmp` (1777), `root` and an empty `var/www`.

    Raises:
        FileNotFoundError: `busybox` does not exist (install the `busybox-static` package).
    """
    applets = busybox_applets(busybox)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for directory, mode in [
            ("bin", 0o755),
            ("etc", 0o755),
            ("root", 0o700),
            ("tmp", 0o1777),
            ("var", 0o755),
            ("var/www", 0o755),
        ]:
            tar.addfile(_entry(directory, tarfile.DIRTYPE, mode))
        binary = busybox.read_bytes()
        tar.addfile(
            _entry("bin/busybox", tarfile.REGTYPE, 0o755, size=len(binary)), io.BytesIO(binary)
        )
        for applet in applets:
            tar.addfile(_entry(f"bin/{applet}", tarfile.SYMTYPE, 0o777, linkname="busybox"))
        for path, text in [("etc/passwd", _PASSWD), ("etc/group", _GROUP)]:
            data = text.encode()
            tar.addfile(_entry(path, tarfile.REGTYPE, 0o644, size=len(data)), io.BytesIO(data))
    return buf.getvalue()


async def ensure_busybox_image(runtime: ContainerRuntime, ref: str = BUSYBOX_IMAGE) -> str:
    """Import the busybox image as `ref` unless the engine already has it; return `ref`.

    Idempotent: the tarball is only built and imported when `image_exists(ref)` is false.
    """
    if not await runtime.image_exists(ref):
        tarball = await anyio.to_thread.run_sync(busybox_rootfs_tar)
        await runtime.import_image(tarball, ref, cmd=["/bin/sh"])
    return ref


def _require(busybox: Path) -> None:
    if not busybox.is_file():
        raise FileNotFoundError(
            f"{busybox} not found: the busybox base image needs a static busybox "
            "(apt-get install busybox-static)"
        )


def _entry(
    name: str, kind: bytes, mode: int, *, size: int = 0, linkname: str = ""
) -> tarfile.TarInfo:
    # Fixed owner and mtime: the same busybox always yields the same tarball.
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = linkname
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    return info
