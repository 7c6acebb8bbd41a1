"""The Database aggregate: a managed database server in an environment, its settings, what it
was asked to do and what its container did (stream `database-<id>`).

The decisions here are the rules a database keeps whatever the engine does: its name is a
reference scope (`${{<name>.URL}}`), so it may not be one of the shared-variable levels; one
password rotation or upgrade at a time; nothing more happens to a deleted one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

import msgspec

from rivetr.domain import projects
from rivetr.domain.database_commands import (
    ChangeDatabaseSettings,
    CreateDatabase,
    DatabaseCommand,
    DeleteDatabase,
    RequestDatabaseAction,
    ResealDatabasePasswords,
    RotateDatabasePassword,
    SetBackupSchedules,
    UpgradeDatabase,
)
from rivetr.domain.database_events import (
    BackupSchedule,
    DatabaseActionRequested,
    DatabaseCreated,
    DatabaseDeleted,
    DatabaseFailed,
    DatabaseKind,
    DatabasePasswordRotated,
    DatabasePasswordRotationRequested,
    DatabasePasswordsResealed,
    DatabaseRunning,
    DatabaseSchedulesSet,
    DatabaseSettingsChanged,
    DatabaseStopped,
    DatabaseUpgraded,
    DatabaseUpgradeFailed,
    DatabaseUpgradeRequested,
)
from rivetr.domain.database_kinds import KINDS
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.event_base import Event
from rivetr.domain.projects import ProjectState
from rivetr.domain.references import LEVELS
from rivetr.domain.settings import Resources

Status = Literal["starting", "running", "stopping", "stopped", "failed", "upgrading", "deleted"]

# the official image of each kind, by version; `version` is the image's tag's version part
DEFAULT_VERSIONS: Final[dict[DatabaseKind, str]] = {
    "postgres": "16",
    "mysql": "8.4",
    "mariadb": "11",
    "redis": "7",
    "mongodb": "7",
}
_IMAGES: Final[dict[DatabaseKind, str]] = {
    "postgres": "postgres:{}-alpine",
    "mysql": "mysql:{}",
    "mariadb": "mariadb:{}",
    "redis": "redis:{}-alpine",
    "mongodb": "mongo:{}",
}
# the port each kind listens on in its container, and the user and database made for the apps
# (Redis has one numbered database and the `default` user; MongoDB's user lives in `admin`)
PORTS: Final[dict[DatabaseKind, int]] = {name: kind.default_port for name, kind in KINDS.items()}
DEFAULT_USERS: Final[dict[DatabaseKind, tuple[str, str]]] = {
    "postgres": ("app", "app"),
    "mysql": ("app", "app"),
    "mariadb": ("app", "app"),
    "redis": ("default", "0"),
    "mongodb": ("app", "app"),
}
# kinds whose superuser is not the apps' user, with a password of its own
WITH_ROOT: Final = frozenset({"mysql", "mariadb"})
# names a reference scope may not take: `${{project.X}}` must mean the project's variable
RESERVED_NAMES: Final = frozenset((*LEVELS, "app"))


class Provisioned(msgspec.Struct, frozen=True, kw_only=True):
    """What the service settles for a new database before the decision: the image, the port
    and generated credentials (sealed)."""

    database_id: str
    version: str
    image: str
    port: int
    user: str
    database: str
    password: str
    root_password: str | None = None


class DatabaseState(msgspec.Struct, frozen=True, kw_only=True):
    database_id: str
    exists: bool = False
    deleted: bool = False
    name: str = ""
    team: str = ""
    project: str = ""
    environment: str = ""
    kind: DatabaseKind = "postgres"
    version: str = ""
    image: str = ""
    port: int = 0
    public_port: int | None = None
    bind_address: str = "127.0.0.1"
    resources: Resources = msgspec.field(default_factory=Resources)
    user: str = ""
    database: str = ""
    password: str = ""  # sealed; the one the server has
    pending_password: str | None = None  # sealed; asked for, not yet set on the server
    root_password: str | None = None
    verify_backups: bool = True
    schedules: tuple[BackupSchedule, ...] = ()
    wanted: Literal["running", "stopped"] = "running"
    status: Status = "starting"
    container: str | None = None
    failure: str | None = None
    upgrade_id: str | None = None  # an upgrade under way


def stream_id(database_id: str) -> str:
    return f"database-{database_id}"


def image_for(kind: DatabaseKind, version: str) -> str:
    return _IMAGES[kind].format(version)


def evolve(state: DatabaseState, event: Event) -> DatabaseState:
    replace = msgspec.structs.replace
    match event:
        case DatabaseCreated():
            return DatabaseState(
                database_id=event.database_id,
                exists=True,
                name=event.name,
                team=event.team,
                project=event.project,
                environment=event.environment,
                kind=event.kind,
                version=event.version,
                image=event.image,
                port=event.port,
                public_port=event.public_port,
                bind_address=event.bind_address,
                resources=event.resources,
                user=event.user,
                database=event.database,
                password=event.password,
                root_password=event.root_password,
                verify_backups=event.verify_backups,
            )
        case DatabaseSettingsChanged():
            changes = {
                f: getattr(event, f)
                for f in ("public_port", "bind_address", "resources", "verify_backups")
                if getattr(event, f) is not msgspec.UNSET
            }
            return replace(state, **changes)
        case DatabaseActionRequested():
            wanted: Literal["running", "stopped"] = (
                "stopped" if event.action == "stop" else "running"
            )
            status: Status = "stopping" if event.action == "stop" else "starting"
            return replace(state, wanted=wanted, status=status, failure=None)
        case DatabaseRunning():
            return replace(
                state, status="running", container=event.container, image=event.image, failure=None
            )
        case DatabaseStopped():
            return replace(state, status="stopped", failure=event.reason or None)
        case DatabaseFailed():
            if event.during == "rotate_password":
                return replace(state, pending_password=None, failure=event.reason)
            return replace(state, status="failed", failure=event.reason)
        case DatabasePasswordRotationRequested():
            return replace(state, pending_password=event.password)
        case DatabasePasswordRotated():
            return replace(
                state, password=state.pending_password or state.password, pending_password=None
            )
        case DatabasePasswordsResealed():
            return replace(
                state,
                password=event.password,
                root_password=event.root_password,
                pending_password=event.pending_password,
            )
        case DatabaseSchedulesSet():
            return replace(state, schedules=tuple(event.schedules))
        case DatabaseUpgradeRequested():
            return replace(state, status="upgrading", upgrade_id=event.upgrade_id)
        case DatabaseUpgraded():
            return replace(
                state,
                version=event.version,
                image=event.image,
                upgrade_id=None,
                status="running",
                failure=None,
            )
        case DatabaseUpgradeFailed():
            status = "running" if event.rolled_back else "failed"
            return replace(state, upgrade_id=None, status=status, failure=event.reason)
        case DatabaseDeleted():
            return replace(state, deleted=True, status="deleted", container=None)
        case _:
            return state


def fold(database_id: str, events: Iterable[Event]) -> DatabaseState:
    state = DatabaseState(database_id=database_id)
    for event in events:
        state = evolve(state, event)
    return state


def decide_create(
    state: DatabaseState, home: ProjectState, command: CreateDatabase, new: Provisioned
) -> list[Event]:
    """Raises AlreadyExists (the id is taken), NotFound (no such environment) or
    InvalidCommand (a reserved name)."""
    if state.exists:
        raise AlreadyExists(f"a database with id {state.database_id} already exists")
    if command.name in RESERVED_NAMES:
        raise InvalidCommand(
            f"{command.name!r} is how shared variables are referenced"
            f" (${{{{{command.name}.KEY}}}}): choose another name for the database",
            field="name",
        )
    projects.require_environment(home, command.environment)
    assert command.team is not None
    return [
        DatabaseCreated(
            database_id=new.database_id,
            name=command.name,
            team=command.team,
            project=command.project,
            environment=command.environment,
            kind=command.kind,
            version=new.version,
            image=new.image,
            port=new.port,
            public_port=command.public_port,
            bind_address=command.bind_address,
            resources=Resources(memory_mb=command.resources.memory_mb, cpus=command.resources.cpus),
            user=new.user,
            database=new.database,
            password=new.password,
            root_password=new.root_password,
            verify_backups=command.verify_backups,
        )
    ]


def decide(state: DatabaseState, command: DatabaseCommand) -> list[Event]:
    """Raises NotFound (no such database, or deleted) or InvalidCommand (it cannot do that
    now)."""
    require(state)
    database_id = state.database_id
    match command:
        case ChangeDatabaseSettings():
            return _change(state, command)
        case RequestDatabaseAction():
            if (
                command.action == "start"
                and state.wanted == "running"
                and state.status == "running"
            ):
                return []
            if command.action == "stop" and state.wanted == "stopped":
                return []
            return [DatabaseActionRequested(database_id=database_id, action=command.action)]
        case RotateDatabasePassword():
            _not_busy(state)
            if state.status != "running":
                raise InvalidCommand(
                    f"database {state.name!r} is {state.status}: start it to rotate its password"
                )
            return [
                DatabasePasswordRotationRequested(
                    database_id=database_id, password=command.password
                )
            ]
        case ResealDatabasePasswords():
            held = (state.password, state.root_password, state.pending_password)
            if command.resealing != held:
                raise InvalidCommand(
                    f"database {state.name!r} changed its password while it was resealed:"
                    " seal it again"
                )
            if (command.password, command.root_password, command.pending_password) == held:
                return []
            return [
                DatabasePasswordsResealed(
                    database_id=database_id,
                    password=command.password,
                    root_password=command.root_password,
                    pending_password=command.pending_password,
                )
            ]
        case SetBackupSchedules():
            if tuple(command.schedules) == state.schedules:
                return []
            return [DatabaseSchedulesSet(database_id=database_id, schedules=command.schedules)]
        case DeleteDatabase():
            return [
                DatabaseDeleted(
                    database_id=database_id, name=state.name, volume_kept=command.keep_volume
                )
            ]
    raise TypeError(f"not a database command: {type(command).__name__}")


def decide_upgrade(
    state: DatabaseState,
    command: UpgradeDatabase,
    upgrade_id: str,
    image: str,
    *,
    backup_id: str = "",
) -> list[Event]:
    """Raises NotFound (no such database) or InvalidCommand (it is busy, not running, or
    already runs `image`). `backup_id` names the backup asked for with it."""
    require(state)
    _not_busy(state)
    if state.status != "running":
        raise InvalidCommand(
            f"database {state.name!r} is {state.status}: an upgrade starts from a running server"
            " (its backup is taken first)"
        )
    if image == state.image:
        raise InvalidCommand(f"database {state.name!r} already runs {image}", field="version")
    return [
        DatabaseUpgradeRequested(
            database_id=state.database_id,
            upgrade_id=upgrade_id,
            version=command.version,
            image=image,
            from_version=state.version,
            from_image=state.image,
            target=command.target,
            backup_id=backup_id,
        )
    ]


def require(state: DatabaseState) -> None:
    if not state.exists or state.deleted:
        raise NotFound(f"no database with id {state.database_id}")


def _not_busy(state: DatabaseState) -> None:
    if state.upgrade_id is not None:
        raise InvalidCommand(f"database {state.name!r} is being upgraded: wait for it to finish")
    if state.pending_password is not None:
        raise InvalidCommand(f"database {state.name!r} is changing its password: wait for it")


def _change(state: DatabaseState, command: ChangeDatabaseSettings) -> list[Event]:
    changes: dict[str, object] = {}
    for field in ("public_port", "bind_address", "verify_backups"):
        value = getattr(command, field)
        if value is not msgspec.UNSET and value != getattr(state, field):
            changes[field] = value
    if command.resources is not msgspec.UNSET:
        resources = Resources(memory_mb=command.resources.memory_mb, cpus=command.resources.cpus)
        if resources != state.resources:
            changes["resources"] = resources
    if not changes:
        return []
    return [DatabaseSettingsChanged(database_id=state.database_id, **changes)]  # type: ignore[arg-type]
