"""What users ask of compose stacks. Variable values arrive plain and are sealed by the service
before they are recorded; a sealed value is never taken as input."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from rivetr.domain.commands import Command, Slug, TeamSlug
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.database_commands import ResourceId
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.settings import (
    Branch,
    CommitId,
    DeployKey,
    DnsLabel,
    Domain,
    EnvName,
    GitToken,
    GitUrl,
    Port,
    WatchPath,
    whole,
)

# the largest compose file taken inline (the reader refuses larger ones from a repository too)
MAX_COMPOSE_BYTES = 1024 * 1024
ComposeText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_COMPOSE_BYTES)]
# a file of the repository, relative to its root: no leading slash, no `..` segment
ComposePath = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(r"(?!/)(?!(?:.*/)?\.\.(?:/|$))[A-Za-z0-9._/-]{1,255}"),
        description="the compose file's path in the repository, e.g. compose.yaml",
    ),
]
# a compose service's name, as the Compose Specification allows it
ServiceName = Annotated[str, msgspec.Meta(pattern=whole(r"[a-zA-Z0-9._-]{1,63}"))]
TemplateSlug = DnsLabel


class StackRouteInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    service: ServiceName
    port: Port
    domains: list[Domain] = msgspec.field(default_factory=list)


def _one_source(git_url: object, compose: object) -> None:
    if (git_url is None) == (compose is None):
        raise InvalidCommand(
            "a stack takes its compose file from a repository (git_url) or inline (compose):"
            " give exactly one",
            field="compose",
        )


def refuse_credentials_inline(git_url: object, token: object, deploy_key: object) -> None:
    """Credentials are for fetching a repository: an inline stack has none to fetch."""
    if git_url is not None:
        return
    for field, value in (("git_token", token), ("deploy_key", deploy_key)):
        if isinstance(value, str):
            raise InvalidCommand(
                f"an inline stack has no repository to fetch: {field} goes with a git_url",
                field=field,
            )


def _routes_unique(routes: list[StackRouteInput]) -> None:
    seen: set[str] = set()
    for route in routes:
        for domain in route.domains:
            if domain in seen:
                raise InvalidCommand(f"the domain {domain} is routed twice", field="routes")
            seen.add(domain)


class StackCommand(Command, frozen=True, kw_only=True):
    pass


class CreateStack(StackCommand, frozen=True, kw_only=True):
    name: DnsLabel
    team: TeamSlug | None = None  # None: the caller's only team
    project: Slug = "default"
    environment: Slug = "production"
    git_url: GitUrl | None = None
    branch: Branch = "main"
    compose_path: ComposePath = "compose.yaml"
    compose: ComposeText | None = None
    routes: list[StackRouteInput] = msgspec.field(default_factory=list)
    variables: dict[EnvName, str] = msgspec.field(default_factory=dict)
    watch_paths: list[WatchPath] = msgspec.field(default_factory=list)
    # credentials for a private repository; write-only, sealed by the service, as an app's
    git_token: GitToken | None = None
    deploy_key: DeployKey | None = None

    def __post_init__(self) -> None:
        _one_source(self.git_url, self.compose)
        refuse_credentials_inline(self.git_url, self.git_token, self.deploy_key)
        _routes_unique(self.routes)


class CreateStackFromTemplate(StackCommand, frozen=True, kw_only=True):
    """A stack made from one of Rivetr's templates: its compose file, its exposed service routed
    from `domain`, and its variables generated (passwords, secrets) or taken from `values`."""

    template: TemplateSlug
    name: DnsLabel | None = None  # None: the template's slug
    team: TeamSlug | None = None
    project: Slug = "default"
    environment: Slug = "production"
    domain: Domain | None = None  # needed by templates whose variables take the domain
    values: dict[EnvName, str] = msgspec.field(default_factory=dict)


class ChangeStackSettings(StackCommand, frozen=True, kw_only=True):
    """A partial update: only the fields given change. Switching the source sets one of
    `git_url` and `compose` and nulls the other. A null `git_token` or `deploy_key` removes
    that credential; switched to inline, the stack drops both."""

    stack_id: ResourceId
    git_url: GitUrl | msgspec.UnsetType | None = msgspec.UNSET
    branch: Branch | msgspec.UnsetType = msgspec.UNSET
    compose_path: ComposePath | msgspec.UnsetType = msgspec.UNSET
    compose: ComposeText | msgspec.UnsetType | None = msgspec.UNSET
    routes: list[StackRouteInput] | msgspec.UnsetType = msgspec.UNSET
    watch_paths: list[WatchPath] | msgspec.UnsetType = msgspec.UNSET
    git_token: GitToken | msgspec.UnsetType | None = msgspec.UNSET  # null removes it
    deploy_key: DeployKey | msgspec.UnsetType | None = msgspec.UNSET

    def __post_init__(self) -> None:
        if isinstance(self.routes, list):
            _routes_unique(self.routes)


class SetStackVariables(StackCommand, frozen=True, kw_only=True):
    """The variables given are set; a null value removes one. The others stay."""

    stack_id: ResourceId
    variables: dict[EnvName, str | None]


class DeleteStack(StackCommand, frozen=True, kw_only=True):
    stack_id: ResourceId


class DeployStack(StackCommand, frozen=True, kw_only=True):
    stack_id: ResourceId
    commit: CommitId | None = None  # None: the branch's head
    trigger: str = "manual"


class SetStackWebhookSecret(StackCommand, frozen=True, kw_only=True):
    """Turn the stack's webhook on with a new secret (sealed by the service), or rotate it;
    `reseal`: the same secret, sealed again with a newer key (after `rivetr secrets rotate`)."""

    stack_id: ResourceId
    secret: str
    reseal: bool = False


class DisableStackWebhook(StackCommand, frozen=True, kw_only=True):
    stack_id: ResourceId


class RollBackStack(StackCommand, frozen=True, kw_only=True):
    """Deploy again a release that served: each service on the image it ran there."""

    stack_id: ResourceId
    to: ResourceId  # the release gone back to


class InstallStackCertificate(StackCommand, frozen=True, kw_only=True):
    """Serve one of the stack's domains with a certificate the service has checked (its
    facts, not its key): what `InstallCertificate` is for an app's."""

    stack_id: ResourceId
    domain: Domain
    source: Literal["uploaded", "acme"] = "acme"
    not_before: str
    not_after: str
    issuer: str
    serial: str
    fingerprint: str


class SetStackAllowances(Command, frozen=True, kw_only=True):
    """What the team's compose stacks may ask of the host, whole (what is left out is no
    longer allowed). An instance admin's alone: a team never widens its own reach."""

    team: TeamSlug
    allowances: Allowances
