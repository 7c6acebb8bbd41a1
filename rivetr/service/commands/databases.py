"""Database commands as the API and the CLI call them: a new database gets its image, port
and generated credentials (sealed, bound to its id) and is decided together with the claims
its name and public port make; every later command is decided on its own stream."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import RecordedEvent
from rivetr.adapters.secrets import SecretBox
from rivetr.domain import backups, claims, databases, projects
from rivetr.domain.access import Actor, Permission, home_team
from rivetr.domain.aggregates import (
    BACKUP_TARGETS,
    BACKUPS,
    CLAIMS,
    DATABASES,
    PROJECTS,
)
from rivetr.domain.database_commands import (
    ChangeDatabaseSettings,
    CreateDatabase,
    DatabaseCommand,
    DeleteDatabase,
    ResealDatabasePasswords,
    RotateDatabasePassword,
    SetBackupSchedules,
    UpgradeDatabase,
)
from rivetr.domain.database_events import (
    DatabaseCreated,
)
from rivetr.domain.errors import NotFound
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.apps import new_app_id
from rivetr.service.commands.handler import CommandHandler, Part, folded

new_id = new_app_id  # every resource's id is minted the same way


def password_context(database_id: str, field: str = "password") -> str:
    return f"database:{database_id}:{field}"


def target_context(team: str, target: str, field: str) -> str:
    return f"team:{team}:backup_target:{target}:{field}"


def new_password() -> str:
    """32 URL-safe characters (192 bits): no quoting needed in a URL, a shell or SQL."""
    return secrets.token_urlsafe(24)


class DatabaseService:
    def __init__(self, handler: CommandHandler, secrets: SecretBox, read: ReadModel) -> None:
        self.handler = handler
        self.secrets = secrets
        self.read = read

    async def create(
        self, actor: Actor, command: CreateDatabase
    ) -> tuple[str, list[RecordedEvent]]:
        """The new database's id and the events that made it."""
        if command.team is None:
            command = msgspec.structs.replace(
                command, team=home_team(actor, Permission.MANAGE_APPS)
            )
        assert command.team is not None
        database_id = new_id()
        new = self._provision(database_id, command)
        key = claims.database_name(command.team, command.project, command.environment, command.name)

        def together(states: list[Any], c: CreateDatabase) -> list[Part]:
            state, held, home = states
            events = databases.decide_create(state, home, c, new)
            claimed = claims.claim_database(held, database_id, home.team, key, c.public_port)
            return [Part(databases.stream_id(database_id), events), Part(claims.STREAM, claimed)]

        recorded = await self.handler.execute_together(
            actor,
            command,
            reads=[
                DATABASES.at(database_id),
                CLAIMS.at(),
                PROJECTS.at(projects.key(command.team, command.project)),
            ],
            decide=together,
            resource=database_id,
        )
        return database_id, recorded

    def _provision(self, database_id: str, command: CreateDatabase) -> databases.Provisioned:
        kind = command.kind
        version = command.version or databases.DEFAULT_VERSIONS[kind]
        user, database = databases.DEFAULT_USERS[kind]
        root = None
        if kind in databases.WITH_ROOT:
            root = self.secrets.seal(password_context(database_id, "root_password"), new_password())
        return databases.Provisioned(
            database_id=database_id,
            version=version,
            image=command.image or databases.image_for(kind, version),
            port=databases.PORTS[kind],
            user=command.user or user,
            database=command.database or database,
            password=self.secrets.seal(password_context(database_id), new_password()),
            root_password=root,
        )

    async def run(self, actor: Actor, command: DatabaseCommand) -> list[RecordedEvent]:
        """Any command on an existing database (settings, start/stop/restart, a password
        rotation, schedules, deletion)."""
        database_id: str = getattr(command, "database_id")  # noqa: B009
        if isinstance(command, RotateDatabasePassword):
            password = self.secrets.seal(password_context(database_id), new_password())
            command = msgspec.structs.replace(command, password=password)
        if isinstance(command, SetBackupSchedules):
            await self._check_schedules(command)
        if isinstance(command, ChangeDatabaseSettings | DeleteDatabase):
            return await self._with_claims(actor, command, database_id)
        return await self.handler.execute(
            actor, command, DATABASES, database_id, resource=database_id
        )

    async def _with_claims(
        self, actor: Actor, command: ChangeDatabaseSettings | DeleteDatabase, database_id: str
    ) -> list[RecordedEvent]:
        def together(states: list[Any], c: Any) -> list[Part]:
            state, held = states
            events = databases.decide(state, c)
            if isinstance(c, DeleteDatabase):
                claimed = claims.release_all(held, database_id)
            elif events and c.public_port is not msgspec.UNSET:
                key = claims.database_name(state.team, state.project, state.environment, state.name)
                claimed = claims.claim_database(held, database_id, state.team, key, c.public_port)
            else:
                claimed = []
            return [Part(databases.stream_id(database_id), events), Part(claims.STREAM, claimed)]

        return await self.handler.execute_together(
            actor,
            command,
            reads=[DATABASES.at(database_id), CLAIMS.at()],
            decide=together,
            resource=database_id,
        )

    async def _check_schedules(self, command: SetBackupSchedules) -> None:
        """Raises NotFound for a schedule naming a target the team lacks."""
        view = await self.read.databases.one(command.database_id)
        if view is None:
            raise NotFound(f"no database with id {command.database_id}")
        held = {target.name for target in await self.read.databases.targets(view.team)}
        for n, schedule in enumerate(command.schedules):
            if schedule.target not in held:
                raise NotFound(
                    f"schedules[{n}]: team {view.team!r} has no backup target {schedule.target!r}",
                    field="schedules",
                )

    async def upgrade(self, actor: Actor, command: UpgradeDatabase) -> list[RecordedEvent]:
        """Ask for an upgrade and, together with it, the verified backup taken first (to a
        target of the team's, checked now): a restart finds both or neither."""
        current = await self.database(command.database_id)
        image = command.image or databases.image_for(current.kind, command.version)
        upgrade_id, backup_id = new_id(), new_id()

        def together(states: list[Any], c: UpgradeDatabase) -> list[Part]:
            state, held_targets, _ = states
            asked = databases.decide_upgrade(state, c, upgrade_id, image, backup_id=backup_id)
            target = backups.target(held_targets, c.target)
            first = backups.backup_request(
                backup_id,
                state,
                c.target,
                "before_upgrade",
                True,
                encrypted=target.encryption_key is not None,
            )
            return [
                Part(databases.stream_id(state.database_id), asked),
                Part(backups.backup_stream(backup_id), [first], state.database_id),
            ]

        return await self.handler.execute_together(
            actor,
            command,
            reads=[
                DATABASES.at(command.database_id),
                BACKUP_TARGETS.at(current.team),
                BACKUPS.at(backup_id),  # new: the log refuses it if the id was ever used
            ],
            decide=together,
            resource=command.database_id,
        )

    async def reseal(self, actor: Actor) -> int:
        """Seal every database's passwords again with the newest key (after `rotate`); return
        how many events that appended. The passwords themselves stay as they are."""
        appended = 0
        for view in await self.read.databases.every():
            state = await self.database(view.database_id)
            context = password_context(state.database_id)
            root = password_context(state.database_id, "root_password")
            command = ResealDatabasePasswords(
                database_id=state.database_id,
                password=self._resealed(context, state.password),
                root_password=self._resealed(root, state.root_password),
                pending_password=self._resealed(context, state.pending_password),
                resealing=(state.password, state.root_password, state.pending_password),
            )
            appended += len(await self.run(actor, command))
        return appended

    def _resealed(self, context: str, sealed: str | None) -> Any:
        if sealed is None:
            return None
        return self.secrets.seal(context, self.secrets.open(context, sealed))

    async def database(self, database_id: str) -> databases.DatabaseState:
        """Raises NotFound for a database that does not exist (or no longer)."""
        state = await folded(self.handler.store, DATABASES.at(database_id))
        databases.require(state)
        return state


def created_of(recorded: list[RecordedEvent]) -> DatabaseCreated:
    return next(r.event for r in recorded if isinstance(r.event, DatabaseCreated))
