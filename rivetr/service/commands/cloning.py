"""Cloning an environment: every app of it copied, with its settings, into another environment
of the team, all in one append with the claims of every copy and the clone's own event, or
nothing at all.

Env values, build arguments and git credentials are copied, but not as the bytes they are
stored as: a sealed value is bound to its app's id (`secrets.py`), so a byte copy would not
open in the copy, and a value that opened in two apps would break the rule that a ciphertext
opens only in its place. Each is opened here, in this process, and sealed again for the copy
before the decision, as a fork preview's approval does with its parent's; the plain value is
never recorded nor returned. The webhook secret is not copied (a provider's hook names one
app); neither are previews' apps (a copy opens its own previews)."""

from __future__ import annotations

from typing import Any

import msgspec

from rivetr.adapters.secrets import SecretBox
from rivetr.domain import cloning, projects
from rivetr.domain.access import Actor, Permission, authorize_command
from rivetr.domain.aggregates import APPS, CLAIMS, PROJECTS, Stream
from rivetr.domain.application import AppState
from rivetr.domain.cloning import CloneRefused, Copy
from rivetr.domain.commands import CloneEnvironment
from rivetr.domain.errors import NotFound
from rivetr.projections.apps import AppView
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.apps import AppService, new_app_id
from rivetr.service.commands.handler import CommandHandler
from rivetr.service.commands.projects import ProjectService
from rivetr.service.commands.secrets import open_app, seal_command


class ClonedApp(msgspec.Struct, frozen=True, kw_only=True):
    from_app: str  # the name of the app copied
    app: str  # the copy's name
    domains: list[str]


class Cloned(msgspec.Struct, frozen=True, kw_only=True):
    """What a clone made: each app's copy, in the environment it went to."""

    team: str
    project: str
    environment: str
    from_project: str
    from_environment: str
    apps: list[ClonedApp]


class CloneService:
    def __init__(
        self,
        handler: CommandHandler,
        read: ReadModel,
        lookup: AppLookup,
        secrets: SecretBox,
        apps: AppService,
        projects: ProjectService,
    ) -> None:
        self.handler = handler
        self.read = read
        self.lookup = lookup
        self.secrets = secrets
        self.apps = apps
        self.projects = projects

    async def clone(self, actor: Actor, command: CloneEnvironment) -> Cloned:
        """Copy every app of the command's environment into its `to_environment`.

        Raises:
            Forbidden: before anything is read or opened, for an actor who may not.
            CloneRefused: naming every clash, and a target that is not empty.
        """
        authorize_command(actor, command, await self.handler.resolve(command))
        await self.apps.adopt()
        to_project = command.to_project or command.project
        sources = await self._sources(command.team, command.project, command.environment)
        # what the target holds comes from the read model, as a deletion's does: each app
        # records its place on its own stream, so no stream says what an environment holds
        holds = await self.projects.holdings(command.team, to_project, command.to_environment)
        command = msgspec.structs.replace(command, holds=holds)
        copies = cloning.plan(command, sources, [new_app_id() for _ in sources])
        made = [
            (
                copy,
                seal_command(
                    self.secrets,
                    copy.id,
                    cloning.copy_command(
                        open_app(self.secrets, source),
                        copy,
                        command.team,
                        to_project,
                        command.to_environment,
                    ),
                ),
            )
            for source, copy in zip(sources, copies, strict=True)
        ]
        source_key = projects.key(command.team, command.project)
        target_key = projects.key(command.team, to_project)
        reads: list[Stream[Any]] = [PROJECTS.at(source_key), CLAIMS.at()]
        if target_key != source_key:
            reads.append(PROJECTS.at(target_key))
        # each copy's stream is read so that it is appended at version 0: created, never reused
        reads += [APPS.at(copy.id) for copy in copies]

        def together(states: list[Any], c: CloneEnvironment) -> Any:
            source, held = states[:2]
            target = states[2] if target_key != source_key else source
            return cloning.decide(source, target, held, c, made)

        try:
            await self.handler.execute_together(actor, command, reads=reads, decide=together)
        except CloneRefused as refused:
            raise await self._explained(actor, refused) from None
        return _cloned(command, to_project, copies)

    async def listed(
        self, actor: Actor, team: str, project: str, environment: str
    ) -> list[AppView]:
        """What a clone of the environment would copy, for a reader of the team (to anyone
        else, an environment that does not exist)."""
        if not actor.can(Permission.READ, team):
            raise NotFound(f"no project {project!r} in team {team!r}")
        views = await self.read.apps.placed(team, project, environment)
        return [view for view in views if view.preview_of is None]

    async def _sources(self, team: str, project: str, environment: str) -> list[AppState]:
        """The apps to copy, as their own streams say (the read model only lists them), but
        no preview: a copy opens previews of its own."""
        found = []
        for view in await self.read.apps.placed(team, project, environment):
            app = await self.lookup.by_id(view.id)
            placed = (app.team, app.project, app.environment) == (team, project, environment)
            if app.exists and placed and app.preview_of is None:
                found.append(app)
        return found

    async def _explained(self, actor: Actor, refused: CloneRefused) -> CloneRefused:
        """The refusal, naming the app that holds a domain only to a caller who may see it."""
        lines = refused.lines[: len(refused.lines) - len(refused.clashes)]
        for clash in refused.clashes:
            holder = clash.holder
            name = None
            if clash.what == "domain" and holder and actor.can(Permission.READ, holder.team):
                name = (await self.lookup.by_id(holder.resource_id)).name
            lines.append(cloning.clash_line(clash, name))
        return CloneRefused(lines, refused.clashes)


def _cloned(command: CloneEnvironment, to_project: str, copies: list[Copy]) -> Cloned:
    return Cloned(
        team=command.team,
        project=to_project,
        environment=command.to_environment,
        from_project=command.project,
        from_environment=command.environment,
        apps=[ClonedApp(from_app=c.from_name, app=c.name, domains=c.domains) for c in copies],
    )
