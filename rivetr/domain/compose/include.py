"""`include`: other compose files brought into this one, each read in its own project directory
(its own `.env`, or the `env_file`s the entry names, under the including file's variables), its
services, networks, volumes, configs and secrets added; one defined differently on both sides is
refused, and so is a file that includes itself, however far down."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from rivetr.domain.compose.merge import merge_model
from rivetr.domain.compose.nodes import Map, Seq, plain, refusal
from rivetr.domain.compose.paths import directory, join
from rivetr.domain.compose.where import ComposeError, DataPath, Location

_RESOURCES = ("services", "networks", "volumes", "configs", "secrets")


class Models(Protocol):
    """What `include` needs of the reader (`reading.Reader`)."""

    def model(
        self, path: str, base: str, env: Mapping[str, str], chain: tuple[str, ...]
    ) -> Map: ...

    def environment(
        self,
        paths: Sequence[str],
        parent: Mapping[str, str],
        *,
        required: bool,
        key: DataPath = (),
        at: Location | None = None,
    ) -> Mapping[str, str]: ...

    def path(self, written: str) -> str: ...


def apply_includes(
    models: Models, root: Map, env: Mapping[str, str], chain: tuple[str, ...]
) -> None:
    """Import what `root`'s `include` names, and drop the key.

    Raises:
        ComposeError: an include cycle, a file that is not there, a malformed entry, or a
            resource defined differently here and in an included file.
    """
    if "include" not in root:
        return
    entries, listed_at = root["include"], root.at.get("include")
    root.drop("include")
    if isinstance(entries, str):
        entries = [entries]
    if not isinstance(entries, list):
        raise refusal("include lists compose files", ("include",), listed_at)
    for index, entry in enumerate(entries):
        key: DataPath = ("include", index)
        at = entries.at[index] if isinstance(entries, Seq) else listed_at
        paths, project_directory, env_files = _entry(entry, key, at)
        files = [models.path(written) for written in paths]
        for file in files:
            if file in chain:
                steps = " -> ".join((*chain, file))
                raise refusal(f"include cycle detected: {steps}", key, at)
        base = models.path(project_directory) if project_directory else directory(files[0])
        if env_files is None:
            sub_env = models.environment([join(base, ".env")], env, required=False)
        else:
            wanted = [models.path(file) for file in env_files if file != "/dev/null"]
            sub_env = models.environment(wanted, env, required=True, key=(*key, "env_file"), at=at)
        try:
            model = models.model(files[0], base, sub_env, (*chain, files[0]))
            for extra in files[1:]:
                model = merge_model(model, models.model(extra, base, sub_env, (*chain, extra)))
        except ComposeError as exc:
            if exc.location is not None:  # a fault inside that file: its own line says more
                raise
            raise refusal(f"cannot include {files[0]}: {exc.problem}", key, at) from exc
        _import(root, model, files[0])


def _entry(
    entry: Any, key: DataPath, at: Location | None
) -> tuple[list[str], str | None, list[str] | None]:
    """The files, project directory and env files of one `include` entry."""
    if isinstance(entry, str) and entry:
        return [entry], None, None
    if isinstance(entry, Map):
        paths, project = _texts(entry.get("path")), entry.get("project_directory")
        env_files = entry.get("env_file")
        envs = None if env_files is None else _texts(env_files)
        if paths and (project is None or isinstance(project, str)) and envs != []:
            return paths, project or None, envs
    raise refusal("an include entry is a path, or {path, project_directory, env_file}", key, at)


def _texts(value: Any) -> list[str]:
    """One path or a list of them; [] when it is neither."""
    listed = [value] if isinstance(value, str) else value
    if isinstance(listed, list) and all(isinstance(item, str) and item for item in listed):
        return list(listed)
    return []


def _import(root: Map, model: Map, file: str) -> None:
    for kind in _RESOURCES:
        incoming = model.get(kind)
        if not isinstance(incoming, Map):
            continue
        target = root.get(kind)
        if not isinstance(target, Map):
            target = Map()
            root.put(kind, target, root.at.get(kind) or model.at.get(kind))
        for name, value, at in incoming.entries():
            if name not in target:
                target.put(name, value, at)
            elif plain(target[name]) != plain(value):  # the same file included twice is fine
                raise refusal(
                    f"{kind}.{name} is defined twice: here and in the included {file} (at {at})",
                    (kind, name),
                    target.at.get(name),
                )
