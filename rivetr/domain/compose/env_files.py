"""A service's `env_file`s and `label_file`s read into its `environment` and `labels`, and those
keys dropped: a later file wins over an earlier one, and the service's own entries over every
file, even empty ones, as the specification says. `environment` and `labels` written as lists
become mappings, and an entry without a value takes the project's `.env` value (one the stack's
variables set is left None: the deployer gives it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from rivetr.domain.compose.dotenv import Dotenv
from rivetr.domain.compose.interpolation import Lookup
from rivetr.domain.compose.nodes import Map, Seq, pairs, refusal
from rivetr.domain.compose.where import DataPath, Location

File = tuple[str, bool, bool, Location | None]  # path, required, raw, where it is named


class EnvFiles(Protocol):
    """What reading env files needs of the reader (`reading.Reader`)."""

    def named(
        self,
        path: str,
        shown: tuple[str, str],
        *,
        required: bool,
        key: DataPath,
        at: Location | None,
    ) -> bytes | None: ...

    def dotenv(self, content: bytes, path: str, lookup: Lookup, *, raw: bool = False) -> Dotenv: ...

    def path(self, written: str) -> str: ...


def apply_env_files(
    files: EnvFiles, root: Map, env: Mapping[str, str], dotenv: Mapping[str, str]
) -> None:
    """Merge every service's env and label files in place.

    Args:
        files: The reader.
        root: The project, includes and extends resolved.
        env: The project's variables, for interpolation inside the files.
        dotenv: What the project's `.env` sets that the stack's variables do not.

    Raises:
        ComposeError: a required file that is not there or is outside the stack, or a line
            that is not `KEY=VALUE`; named with the service's key and line.
    """
    services = root.get("services")
    for name, service, _ in services.entries() if isinstance(services, Map) else ():
        if not isinstance(service, Map):
            continue
        key: DataPath = ("services", name)
        _merge(files, service, key, ("environment", "env_file", None), env)
        _merge(files, service, key, ("labels", "label_file", ""), env)
        environment = service.get("environment")
        if isinstance(environment, Map):
            for variable, value, _ in environment.entries():
                if value is None and variable in dotenv:
                    environment[variable] = dotenv[variable]


def _merge(
    files: EnvFiles,
    service: Map,
    key: DataPath,
    names: tuple[str, str, Any],
    env: Mapping[str, str],
) -> None:
    target, source, missing = names
    own, own_at = service.get(target), service.at.get(target)
    if isinstance(own, Seq):
        own = pairs(own, missing=missing)
        service.put(target, own, own_at)
    if source not in service:
        return
    listed, listed_at = service[source], service.at.get(source)
    service.drop(source)
    merged = Map()
    for index, (path, required, raw, at) in enumerate(_files(listed, (*key, source), listed_at)):
        named: DataPath = (*key, source) if isinstance(listed, str) else (*key, source, index)
        what = "env file" if source == "env_file" else "label file"
        stack = files.path(path)
        content = files.named(stack, (what, path), required=required, key=named, at=at)
        if content is None:
            continue
        parsed = files.dotenv(content, stack, _earlier(merged, env), raw=raw)
        for variable, value in parsed.values.items():
            merged.put(variable, value, Location(stack, parsed.lines[variable]))
    if own is not None and not isinstance(own, Map):
        return  # not a mapping: the model refuses it, naming the key
    for variable, value, at in own.entries() if own is not None else ():
        merged.put(variable, value, at)
    if merged or own is not None:
        service.put(target, merged, own_at or listed_at)


def _earlier(merged: Map, env: Mapping[str, str]) -> Lookup:
    """Interpolation in an env file reads the files before it, then the project's variables."""

    def lookup(name: str) -> str | None:
        value = merged.get(name)
        return value if isinstance(value, str) else env.get(name)

    return lookup


def _files(listed: Any, key: DataPath, at: Location | None) -> list[File]:
    """Each file an `env_file`/`label_file` names: a path, a list of paths, or (env files) a
    list of `{path, required, format}`."""
    items = [(listed, at)] if isinstance(listed, str) else None
    if isinstance(listed, Seq):
        items = [(item, item_at or at) for _, item, item_at in listed.entries()]
    if items is None:
        raise refusal("names a file or a list of files", key, at)
    found: list[File] = []
    for index, (item, item_at) in enumerate(items):
        named = (*key, index) if isinstance(listed, Seq) else key
        if isinstance(item, str) and item:
            found.append((item, True, False, item_at))
            continue
        if isinstance(item, Map) and key[-1] == "env_file":
            path, required, form = item.get("path"), item.get("required", True), item.get("format")
            required = {"true": True, "false": False}.get(str(required).lower(), required)
            if (
                isinstance(path, str)
                and path
                and isinstance(required, bool)
                and form in (None, "", "raw")
            ):
                found.append((path, required, form == "raw", item_at))
                continue
        raise refusal("names a file: a path or {path, required, format: raw}", named, item_at)
    return found
