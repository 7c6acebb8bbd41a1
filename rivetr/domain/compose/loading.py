"""The compose reader's entry point: a stack's compose file read as Compose reads it, into plain
data (YAML, `.env` and interpolation, `include`, `extends`, profiles, env and label files), with
where each part was written and what Compose would have warned about. The typed model and the
policy take it from here."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import msgspec

from rivetr.domain.compose.env_files import apply_env_files
from rivetr.domain.compose.nodes import finish
from rivetr.domain.compose.paths import directory, join
from rivetr.domain.compose.profiles import enabled_profiles, select_profiles
from rivetr.domain.compose.reading import Reader
from rivetr.domain.compose.sources import stack_path
from rivetr.domain.compose.where import Sources, Where
from rivetr.domain.compose.yaml_source import within_services_bound


class Loaded(msgspec.Struct, frozen=True, kw_only=True):
    """A compose project as plain JSON-like data, the place of every node that came from a
    file, and Compose's warnings (an unset variable read as "", `version` ignored...)."""

    data: dict[str, Any]
    where: Where
    warnings: tuple[str, ...]


def load(
    sources: Sources,
    entry: str,
    *,
    variables: Mapping[str, str] | None = None,
    profiles: Collection[str] = (),
) -> Loaded:
    """Read the compose file `entry` of a stack.

    Args:
        sources: The stack's files.
        entry: The compose file's path in the stack (`compose.yaml`, `deploy/compose.yml`);
            its directory is the project directory, whose `.env` feeds interpolation.
        variables: The stack's variables: they win over `.env`, as the shell's environment
            does for Compose.
        profiles: The enabled profiles; when none, `COMPOSE_PROFILES` from the variables or
            the `.env`.

    Returns:
        The project with `include`, `extends`, `env_file`, `label_file` and `version`
        resolved away, `environment` and `labels` as mappings, the services of no enabled
        profile dropped, and `!reset`/`!override` applied.

    Raises:
        ComposeError: the first thing Compose would refuse, or a bound crossed, naming the
            file, the line and the key where there is one.
    """
    path = stack_path(entry)
    project = directory(path)
    given = dict(variables or {})
    reader = Reader(sources, project)
    env = reader.environment([join(project, ".env")], given, required=False)
    root = reader.model(path, project, env, (path,))
    within_services_bound(root, ", included ones counted")
    select_profiles(root, enabled_profiles(profiles, env))
    dotenv = {name: value for name, value in env.items() if name not in given}
    apply_env_files(reader, root, env, dotenv)
    data, where = finish(root)
    return Loaded(data=data, where=where, warnings=tuple(reader.warnings))
