"""What a service mounts, in the long form: volumes, binds and tmpfs (`volumes:`), the devices
it is given, and the secrets and configs it reads as files."""

from __future__ import annotations

import posixpath
from typing import Annotated, Literal

from rivetr.domain.compose import long_form
from rivetr.domain.compose.field_types import Bytes, Labels, Mode
from rivetr.domain.compose.typed import Parsed, Spec

MountType = Literal["bind", "volume", "tmpfs", "cluster", "npipe", "image"]


class BindOptions(Spec, frozen=True):
    propagation: str | None = None
    create_host_path: bool | None = None
    recursive: Literal["enabled", "disabled", "writable", "readonly"] | None = None
    selinux: Literal["z", "Z"] | None = None


class VolumeOptions(Spec, frozen=True):
    labels: Labels = {}
    nocopy: bool = False
    subpath: str | None = None


class TmpfsOptions(Spec, frozen=True):
    size: Bytes | None = None
    mode: Mode | None = None


class ImageOptions(Spec, frozen=True):
    subpath: str | None = None


class Mount(Spec, frozen=True):
    """One of a service's `volumes`: `source` is a path on the host for a bind (relative to
    the stack's root unless absolute), a volume's name (none: anonymous), an image."""

    type: MountType
    target: str
    source: str | None = None
    read_only: bool = False
    consistency: str | None = None
    bind: BindOptions | None = None
    volume: VolumeOptions | None = None
    tmpfs: TmpfsOptions | None = None
    image: ImageOptions | None = None


class Device(Spec, frozen=True):
    source: str
    target: str | None = None
    permissions: str | None = None


class FileReference(Spec, frozen=True):
    """A top-level secret or config a service reads as a file."""

    source: str
    target: str | None = None
    uid: str | None = None
    gid: str | None = None
    mode: Mode | None = None


class SecretReference(FileReference, frozen=True):
    def path(self) -> str:
        """Where the file is in the container: under `/run/secrets/` unless absolute."""
        return posixpath.join("/run/secrets", self.target or self.source)


class ConfigReference(FileReference, frozen=True):
    def path(self) -> str:
        """Where the file is in the container: `/<source>` unless a target is given."""
        return posixpath.join("/", self.target or self.source)


Volumes = list[Annotated[Mount, Parsed(long_form.volume)]]
Devices = list[Annotated[Device, Parsed(long_form.device)]]
Secrets = list[Annotated[SecretReference, Parsed(long_form.reference)]]
Configs = list[Annotated[ConfigReference, Parsed(long_form.reference)]]
