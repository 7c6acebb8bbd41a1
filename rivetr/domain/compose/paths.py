"""Relative paths of a file that `extends` or `include` brings in, rewritten relative to the
project directory (the entry file's): in that file they were relative to its own directory, as
compose-go resolves them (build contexts, env and label files, bind sources, `extends.file`,
config and secret files, nested includes)."""

from __future__ import annotations

import posixpath
from typing import Any, Final, TypeGuard

from rivetr.domain.compose.nodes import Map, Seq

_REMOTE: Final = ("git@", "github.com/", "service:")


def directory(path: str) -> str:
    """The directory of a file of the stack: `.` for one at the root."""
    return posixpath.dirname(path) or "."


def join(base: str, path: str) -> str:
    """`path` written in `base`, as a path from the stack's root (an absolute one unchanged)."""
    return posixpath.normpath(posixpath.join(base, path))


def relative(path: str, start: str) -> str:
    """`path` seen from the directory `start`, both from the stack's root."""
    parts = [part for part in path.split("/") if part not in ("", ".")]
    origin = [part for part in start.split("/") if part not in ("", ".")]
    common = 0
    while common < min(len(parts), len(origin)) and parts[common] == origin[common]:
        common += 1
    return "/".join([".."] * (len(origin) - common) + parts[common:]) or "."


def _local(value: Any) -> TypeGuard[str]:
    return (
        isinstance(value, str)
        and bool(value)
        and not value.startswith(("/", "~", *_REMOTE))
        and "://" not in value
    )


class Rebase:
    """Rewrites the paths a file wrote relative to `base` as paths relative to `project`."""

    def __init__(self, base: str, project: str) -> None:
        self.base, self.project = base, project

    def path(self, value: str) -> str:
        moved = relative(join(self.base, value), self.project)
        return moved if moved.startswith(".") else f"./{moved}"

    def apply(self, root: Map) -> None:
        if posixpath.normpath(self.base) == posixpath.normpath(self.project):
            return
        services = root.get("services")
        for service in services.values() if isinstance(services, Map) else ():
            if isinstance(service, Map):
                self.service(service)
        for kind in ("configs", "secrets"):
            resources = root.get(kind)
            for resource in resources.values() if isinstance(resources, Map) else ():
                self.key(resource, "file")
        volumes = root.get("volumes")
        for volume in volumes.values() if isinstance(volumes, Map) else ():
            options = volume.get("driver_opts") if isinstance(volume, Map) else None
            if isinstance(options, Map) and "bind" in str(options.get("o", "")).split(","):
                self.key(options, "device")
        includes = root.get("include")
        if _local(includes) or isinstance(includes, Seq):
            self.listed(root, "include")
        for entry in includes if isinstance(includes, Seq) else ():
            for key in ("path", "project_directory", "env_file"):
                if isinstance(entry, Map):
                    self.listed(entry, key)

    def service(self, service: Map) -> None:
        build = service.get("build")
        if _local(build):
            service["build"] = self.path(build)
        elif isinstance(build, Map):
            self.key(build, "context")
            contexts = build.get("additional_contexts")
            for name in list(contexts) if isinstance(contexts, Map) else ():
                self.key(contexts, name)
        for key in ("env_file", "label_file"):
            self.listed(service, key)
        files = service.get("env_file")
        for entry in files if isinstance(files, Seq) else ():
            if isinstance(entry, Map):
                self.key(entry, "path")
        self.key(service.get("extends"), "file")
        volumes = service.get("volumes")
        for index, volume in enumerate(volumes if isinstance(volumes, Seq) else Seq()):
            if isinstance(volume, str) and volume.startswith("."):  # `./data:/data:ro`
                source, colon, rest = volume.partition(":")
                service["volumes"][index] = self.path(source) + colon + rest
            elif isinstance(volume, Map) and volume.get("type") == "bind":
                self.key(volume, "source")
        develop = service.get("develop")
        watches = develop.get("watch") if isinstance(develop, Map) else None
        for watch in watches if isinstance(watches, Seq) else ():
            self.key(watch, "path")

    def key(self, mapping: Any, key: str) -> None:
        if isinstance(mapping, Map) and _local(mapping.get(key)):
            mapping[key] = self.path(mapping[key])

    def listed(self, mapping: Map, key: str) -> None:
        """A key holding one path or a list of them (`env_file`, `include.path`)."""
        value = mapping.get(key)
        if _local(value):
            mapping[key] = self.path(value)
        elif isinstance(value, Seq):
            for index, item in enumerate(value):
                if _local(item):
                    value[index] = self.path(item)
