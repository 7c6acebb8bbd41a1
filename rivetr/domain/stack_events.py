"""The facts of compose stacks and their releases, as members of the one tagged union in
`events.py`.

A stack's settings live in its stream `stack-<id>`; each release (a deploy of the whole stack)
in `stack-release-<id>`, where every step of every service is recorded. Variable values are
sealed before they are recorded, bound to the stack and the variable's name; so are the
credentials of a private repository, bound to the stack and the field."""

from __future__ import annotations

from typing import Literal

import msgspec

from rivetr.domain.event_base import Event
from rivetr.domain.replica_events import Member
from rivetr.domain.scale_events import Replicas
from rivetr.domain.settings import Port

# what a release was doing when it failed
StackStep = Literal["source", "read", "claims", "image", "start", "health", "switch"]
# how a release's service came to run: beside its previous container (health-gated, then
# switched), in place of it (stopped first: no health check, or a volume only one may write),
# kept as it was (nothing about it changed), or run once to completion
StartMode = Literal["beside", "replace", "keep", "once"]


class StackRoute(msgspec.Struct, frozen=True, kw_only=True):
    """The domains that reach one service of a stack, on one of its container ports."""

    service: str
    port: Port
    domains: list[str] = msgspec.field(default_factory=list)


class StackCreated(Event, frozen=True, kw_only=True, tag="stack.created"):
    stack_id: str
    name: str
    team: str
    project: str
    environment: str
    # where the compose file comes from: a repository (its file at `compose_path`) or the text
    # given inline (`compose`); exactly one of `git_url` and `compose` is set
    git_url: str | None = None
    branch: str = "main"
    compose_path: str = "compose.yaml"
    compose: str | None = None
    routes: list[StackRoute] = msgspec.field(default_factory=list)
    variables: dict[str, str] = msgspec.field(default_factory=dict)  # sealed values
    template: str | None = None  # the template it was made from
    watch_paths: list[str] = msgspec.field(default_factory=list)  # webhook pushes: [] = any


class StackSettingsChanged(Event, frozen=True, kw_only=True, tag="stack.settings_changed"):
    """Only the settings present changed."""

    stack_id: str
    git_url: str | msgspec.UnsetType | None = msgspec.UNSET
    branch: str | msgspec.UnsetType = msgspec.UNSET
    compose_path: str | msgspec.UnsetType = msgspec.UNSET
    compose: str | msgspec.UnsetType | None = msgspec.UNSET
    routes: list[StackRoute] | msgspec.UnsetType = msgspec.UNSET
    watch_paths: list[str] | msgspec.UnsetType = msgspec.UNSET


class StackGitCredentialsChanged(
    Event, frozen=True, kw_only=True, tag="stack.git_credentials_changed"
):
    """The credentials its repository is fetched with, as they are now (sealed, bound to the
    stack; None: none), as `app.git_credentials_changed` is for an app."""

    stack_id: str
    token: str | None = None
    deploy_key: str | None = None


class StackVariablesChanged(Event, frozen=True, kw_only=True, tag="stack.variables_changed"):
    """The variables the compose file is interpolated with, all of them (values sealed)."""

    stack_id: str
    variables: dict[str, str]


class StackDeleted(Event, frozen=True, kw_only=True, tag="stack.deleted"):
    stack_id: str


class StackWebhookSecretSet(Event, frozen=True, kw_only=True, tag="stack.webhook_secret_set"):
    """The stack (from a repository) deploys on pushes signed with this secret (sealed, bound
    to the stack); `rotated`: it replaced one; `resealed`: the same secret, sealed again with
    a newer key."""

    stack_id: str
    secret: str
    rotated: bool = False
    resealed: bool = False


class StackWebhookDisabled(Event, frozen=True, kw_only=True, tag="stack.webhook_disabled"):
    stack_id: str


class StackReleaseRequested(Event, frozen=True, kw_only=True, tag="stack_release.requested"):
    release_id: str
    stack_id: str
    commit: str | None = None  # None: the branch's head
    trigger: str = "manual"
    # a rollback: the release gone back to, and the image each service ran there
    rollback_of: str | None = None
    images: dict[str, str] = msgspec.field(default_factory=dict)


class StackSourceFetched(Event, frozen=True, kw_only=True, tag="stack_release.source_fetched"):
    release_id: str
    commit_sha: str | None = None  # None: an inline compose file
    compose_digest: str  # sha256 of the compose file as written


class StackComposeRead(Event, frozen=True, kw_only=True, tag="stack_release.compose_read"):
    """The compose file was read, checked and allowed: its services, in the waves they start in
    (each wave's dependencies are met by the ones before), and what Compose would warn about."""

    release_id: str
    waves: list[list[str]]
    warnings: list[str] = msgspec.field(default_factory=list)


class StackServiceImageReady(
    Event, frozen=True, kw_only=True, tag="stack_release.service_image_ready"
):
    release_id: str
    service: str
    image: str  # the image id (sha256:...), what a rollback starts again
    built: bool = False  # built from the stack's source, not taken as named


class StackServiceStarted(Event, frozen=True, kw_only=True, tag="stack_release.service_started"):
    release_id: str
    service: str
    container: str
    mode: StartMode
    # each routed container port -> the loopback host port the proxy reaches it on
    host_ports: dict[Port, Port] = msgspec.field(default_factory=dict)


class StackServiceOnServers(
    Event, frozen=True, kw_only=True, tag="stack_release.service_on_servers"
):
    """The service runs as copies on the servers, as the swarm service `service_name` of the
    image every server pulls (by digest): started beside the previous release's service, or
    that one kept as it was (`keep`). `replicas` None: one copy on each server it may run on
    (`mode: global`); `placement` says where, in words."""

    release_id: str
    service: str
    service_name: str
    image: str
    mode: StartMode
    replicas: Replicas | None = None
    placement: str = ""


class StackServiceBalanced(Event, frozen=True, kw_only=True, tag="stack_release.service_balanced"):
    """The copies of a service on servers that run (and passed their health check), for each
    routed container port: what the proxy balances that route over once the release switches.
    Recorded again while the release is live whenever its running copies change (a server
    went down, the engine started a copy elsewhere), saying so in `changed`."""

    release_id: str
    service: str
    members: dict[Port, list[Member]] = msgspec.field(default_factory=dict)
    changed: str = ""


class StackServiceReady(Event, frozen=True, kw_only=True, tag="stack_release.service_ready"):
    """The service passed its gate: healthy (a health check), running (none), or exited 0 (run
    once)."""

    release_id: str
    service: str


class StackSwitched(Event, frozen=True, kw_only=True, tag="stack_release.switched"):
    """Every route of the stack now reaches this release's containers, all at once."""

    release_id: str


class StackReleaseFailed(Event, frozen=True, kw_only=True, tag="stack_release.failed"):
    """The release stopped; the previous release (if any) serves, as it did, with every
    service back on its previous container."""

    release_id: str
    step: StackStep
    reason: str
    service: str | None = None
    log_tail: list[str] = msgspec.field(default_factory=list)


class StackReleaseSuperseded(Event, frozen=True, kw_only=True, tag="stack_release.superseded"):
    """A newer release switched; this one's containers are drained and removed."""

    release_id: str
    by: str


class StackReleaseRetired(Event, frozen=True, kw_only=True, tag="stack_release.retired"):
    """The stack was deleted while this release served."""

    release_id: str
