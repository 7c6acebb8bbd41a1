"""Stack commands as the API and the CLI call them: a new stack's variables are sealed bound to
its id and each name (its git credentials to its id and the field, as an app's), and it is
decided together with the claims its name and domains make;
a deploy or a rollback mints the release's id and is appended to the new release's stream."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from secrets import token_bytes
from typing import Any

import msgspec

from rivetr.adapters.eventstore.base import RecordedEvent
from rivetr.adapters.secrets import SecretBox
from rivetr.adapters.source.policy import RepositoryPolicy
from rivetr.adapters.template_catalogue import TemplateCatalogue
from rivetr.domain import claims, projects, stack_releases, stacks
from rivetr.domain.access import Actor, Permission, authorize_command, home_team
from rivetr.domain.aggregates import CLAIMS, PROJECTS, STACK_RELEASES, STACKS
from rivetr.domain.claims import DomainTaken
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.compose.inline_check import check_inline
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.stack_commands import (
    ChangeStackSettings,
    CreateStack,
    CreateStackFromTemplate,
    DeleteStack,
    DeployStack,
    RollBackStack,
    SetStackVariables,
    StackRouteInput,
)
from rivetr.domain.templates import DERIVED_FROM_DOMAIN, resolve_variables
from rivetr.service.commands.apps import new_app_id, vet_repository
from rivetr.service.commands.domain_holders import explained
from rivetr.service.commands.handler import CommandHandler, Part
from rivetr.service.commands.secrets import sealed_credentials

new_id = new_app_id  # every resource's id is minted the same way


def variable_context(stack_id: str, name: str) -> str:
    return f"stack:{stack_id}:variables:{name}"


def owner(stack_id: str) -> str:
    """What a stack's git credentials are sealed bound to (with the field)."""
    return f"stack:{stack_id}"


def _domains(routes: list[StackRouteInput]) -> list[str]:
    return [domain for route in routes for domain in route.domains]


class StackService:
    def __init__(
        self,
        handler: CommandHandler,
        secrets: SecretBox,
        repositories: RepositoryPolicy,
        catalogue: TemplateCatalogue,
        *,
        allowances: Callable[[str], Awaitable[Allowances]],
        data_dir: str,
    ) -> None:
        """`allowances`: what an instance admin allowed a team's stacks, and `data_dir`
        (absolute): what an inline compose file is weighed against when it is saved."""
        self.handler = handler
        self.secrets = secrets
        self.repositories = repositories
        self.catalogue = catalogue
        self.allowances = allowances
        self.data_dir = data_dir

    def seal(self, stack_id: str, values: Mapping[str, str | None]) -> dict[str, str]:
        return {
            name: self.secrets.seal(variable_context(stack_id, name), value)
            for name, value in values.items()
            if value is not None
        }

    def open(self, stack_id: str, sealed: Mapping[str, str]) -> dict[str, str]:
        """The stack's variables as the compose file is interpolated with them."""
        return {
            name: self.secrets.open(variable_context(stack_id, name), value)
            for name, value in sealed.items()
        }

    async def create(
        self, actor: Actor, command: CreateStack, *, template: str | None = None
    ) -> tuple[str, list[RecordedEvent]]:
        """The new stack's id and the events that made it (with its claims)."""
        if command.team is None:
            command = msgspec.structs.replace(
                command, team=home_team(actor, Permission.MANAGE_APPS)
            )
        assert command.team is not None
        if command.git_url is not None:
            await vet_repository(self.handler, self.repositories, actor, command, command.git_url)
        stack_id = new_id()
        sealed = self.seal(stack_id, command.variables)
        team = command.team
        key = claims.stack_name(team, command.project, command.environment, command.name)
        allowances = await self.allowances(team)
        credentials = sealed_credentials(self.secrets, owner(stack_id), command)
        command = msgspec.structs.replace(command, **credentials)

        def together(states: list[Any], c: CreateStack) -> list[Part]:
            state, held, home = states
            if c.compose is not None:  # after the actor is authorised: refusals tell the file
                self.check(c.compose, c.variables, allowances)
            events = stacks.decide_create(state, home, c, sealed, template)
            claimed = claims.claim_stack_name(held, stack_id, home.team, key)
            claimed += claims.claim_domains(held, stack_id, home.team, _domains(c.routes))
            return [Part(stacks.stream_id(stack_id), events), Part(claims.STREAM, claimed)]

        try:
            recorded = await self.handler.execute_together(
                actor,
                command,
                reads=[
                    STACKS.at(stack_id),
                    CLAIMS.at(),
                    PROJECTS.at(projects.key(team, command.project)),
                ],
                decide=together,
                resource=stack_id,
            )
        except DomainTaken as taken:
            raise await explained(self.handler.store, actor, taken) from None
        return stack_id, recorded

    async def from_template(
        self, actor: Actor, command: CreateStackFromTemplate
    ) -> tuple[str, dict[str, str]]:
        """A stack made from a template: the new stack's id and the secret values generated
        for it (answered this once; the log holds them sealed)."""
        if command.team is None:
            command = msgspec.structs.replace(
                command, team=home_team(actor, Permission.MANAGE_APPS)
            )
        authorize_command(actor, command, await self.handler.resolve(command))
        template = self.catalogue.get(command.template)
        derived = [
            name for name, v in template.variables.items() if v.generate in DERIVED_FROM_DOMAIN
        ]
        if derived and command.domain is None:
            raise InvalidCommand(
                f"template {template.slug!r} sets {', '.join(derived)} from its domain: give one",
                field="domain",
            )
        values = resolve_variables(
            template,
            random_bytes=token_bytes,
            domain=command.domain or "",
            admin_email=actor.user or "",
            given=command.values,
        )
        domains = [command.domain] if command.domain else []
        route = StackRouteInput(
            service=template.expose.service, port=template.expose.port, domains=domains
        )
        create = CreateStack(
            name=command.name or template.slug,
            team=command.team,
            project=command.project,
            environment=command.environment,
            compose=self.catalogue.compose(template.slug),
            routes=[route],
            variables={name: v.value for name, v in values.items()},
        )
        stack_id, _ = await self.create(actor, create, template=template.slug)
        generated = {n: v.value for n, v in values.items() if v.secret and n not in command.values}
        return stack_id, generated

    async def change(self, actor: Actor, command: ChangeStackSettings) -> list[RecordedEvent]:
        """New settings; new routes claim their domains and give up the ones no longer routed."""
        if isinstance(command.git_url, str):
            await vet_repository(self.handler, self.repositories, actor, command, command.git_url)
        team = (await self.handler.resolve(command)).team
        allowances = await self.allowances(team) if team is not None else Allowances()
        credentials = sealed_credentials(self.secrets, owner(command.stack_id), command)
        command = msgspec.structs.replace(command, **credentials)

        def together(states: list[Any], c: ChangeStackSettings) -> list[Part]:
            state, held = states
            if isinstance(c.compose, str):
                self.check(c.compose, self.open(c.stack_id, state.variables), allowances)
            events = stacks.decide_settings(state, c)
            claimed = []
            if not isinstance(c.routes, msgspec.UnsetType):
                claimed = claims.claim_domains(held, c.stack_id, state.team, _domains(c.routes))
            return [Part(stacks.stream_id(c.stack_id), events), Part(claims.STREAM, claimed)]

        try:
            return await self.handler.execute_together(
                actor,
                command,
                reads=[STACKS.at(command.stack_id), CLAIMS.at()],
                decide=together,
                resource=command.stack_id,
            )
        except DomainTaken as taken:
            raise await explained(self.handler.store, actor, taken) from None

    def check(self, text: str, variables: Mapping[str, str], allowances: Allowances) -> None:
        """An inline compose file weighed as its deploy will weigh it (what only the deploy
        knows left to it); git stacks are weighed at each deploy.

        Raises:
            ComposeError: each refusal, as `compose.yaml:LINE: key: why`.
        """
        check_inline(text, variables=variables, allowances=allowances, data_dir=self.data_dir)

    async def set_variables(self, actor: Actor, command: SetStackVariables) -> list[RecordedEvent]:
        sealed = self.seal(command.stack_id, command.variables)
        return await self.handler.execute(
            actor,
            command,
            STACKS,
            command.stack_id,
            decide=lambda state, c: stacks.decide_variables(state, c, sealed),
            resource=command.stack_id,
        )

    async def delete(self, actor: Actor, command: DeleteStack) -> list[RecordedEvent]:
        """The stack is deleted and gives up its name and domains; its containers, network
        and volumes are removed by the stack's reactor."""

        def together(states: list[Any], c: DeleteStack) -> list[Part]:
            state, held = states
            events = stacks.decide_delete(state, c)
            # its name (and any host port) and its domains
            released = claims.release_all(held, c.stack_id) + claims.release(held, c.stack_id, "")
            return [Part(stacks.stream_id(c.stack_id), events), Part(claims.STREAM, released)]

        return await self.handler.execute_together(
            actor,
            command,
            reads=[STACKS.at(command.stack_id), CLAIMS.at()],
            decide=together,
            resource=command.stack_id,
        )

    async def deploy(
        self, actor: Actor, command: DeployStack, *, release_id: str | None = None
    ) -> tuple[str, list[RecordedEvent]]:
        """The new release's id (`release_id`, when the caller recorded it already, as a
        webhook delivery does) and its request."""
        release_id = release_id or new_id()

        def together(states: list[Any], c: DeployStack) -> list[Part]:
            state, _ = states
            events = stacks.decide_deploy(state, c, release_id)
            return [Part(stack_releases.stream_id(release_id), events, c.stack_id)]

        recorded = await self.handler.execute_together(
            actor,
            command,
            # the release's stream, new: the log refuses it if the id was ever used
            reads=[STACKS.at(command.stack_id), STACK_RELEASES.at(release_id)],
            decide=together,
            resource=command.stack_id,
        )
        return release_id, recorded

    async def roll_back(
        self, actor: Actor, command: RollBackStack
    ) -> tuple[str, list[RecordedEvent]]:
        """A new release running each service on the image it ran in release `command.to`."""
        release_id = new_id()

        def together(states: list[Any], c: RollBackStack) -> list[Part]:
            state, target, _ = states
            events = stacks.decide_rollback(state, c, target, release_id)
            return [Part(stack_releases.stream_id(release_id), events, c.stack_id)]

        recorded = await self.handler.execute_together(
            actor,
            command,
            reads=[
                STACKS.at(command.stack_id),
                STACK_RELEASES.at(command.to),
                STACK_RELEASES.at(release_id),
            ],
            decide=together,
            resource=command.stack_id,
        )
        return release_id, recorded
