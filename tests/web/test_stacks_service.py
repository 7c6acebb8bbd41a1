"""Compose stacks through the services, on the twins: made in an environment with sealed
variables, their names and domains claimed, a repository URL vetted like an app's, deployed
and rolled back as releases, and deleted giving their claims up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rivetr.adapters.proxy import Parked, Upstream
from rivetr.adapters.secrets import is_sealed
from rivetr.domain.access import SYSTEM, user_actor
from rivetr.domain.aggregates import STACK_RELEASES, STACKS
from rivetr.domain.commands import CreateApp
from rivetr.domain.errors import AlreadyExists, Forbidden, InvalidCommand, NotFound
from rivetr.domain.repository import RepositoryRefused
from rivetr.domain.stack_commands import (
    ChangeStackSettings,
    CreateStack,
    DeleteStack,
    DeployStack,
    RollBackStack,
    SetStackVariables,
    StackRouteInput,
)
from rivetr.domain.stack_events import (
    StackComposeRead,
    StackReleaseRequested,
    StackServiceImageReady,
    StackServiceReady,
    StackServiceStarted,
    StackSourceFetched,
    StackSwitched,
)
from rivetr.service.reactors.route_keeper import route_table
from tests.web.releases import served_history
from tests.web.test_databases_service import fold

COMPOSE = "services:\n  web:\n    image: nginx:1.27\n"
ROUTE = StackRouteInput(service="web", port=80, domains=["blog.example.com"])


def make(call: Callable[..., Any], services: Any, **fields: Any) -> str:
    fields.setdefault("compose", COMPOSE)
    stack_id, _ = call(services.stacks.create, SYSTEM, CreateStack(name="blog", **fields))
    return stack_id


def test_a_stack_is_made_with_sealed_variables_and_shown_without_them(
    call: Callable[..., Any], services: Any
) -> None:
    stack_id = make(call, services, routes=[ROUTE], variables={"DB_PASSWORD": "hunter2"})
    state = fold(call, services, STACKS, stack_id)
    assert (state.team, state.project, state.environment) == ("default", "default", "production")
    assert is_sealed(state.variables["DB_PASSWORD"])
    assert services.stacks.open(stack_id, state.variables) == {"DB_PASSWORD": "hunter2"}
    view = call(services.read.stacks.one, stack_id)
    assert (view.name, view.inline, view.variables) == ("blog", True, ["DB_PASSWORD"])
    assert view.routes[0].domains == ["blog.example.com"]
    assert "hunter2" not in repr(view)


def test_a_name_is_unique_among_an_environments_stacks_and_a_domain_on_the_instance(
    call: Callable[..., Any], services: Any
) -> None:
    make(call, services, routes=[ROUTE])
    with pytest.raises(AlreadyExists, match="already has a stack named 'blog'"):
        make(call, services)
    other = CreateStack(name="other", compose=COMPOSE, routes=[ROUTE])
    with pytest.raises(AlreadyExists, match="already used by stack 'blog'"):
        call(services.stacks.create, SYSTEM, other)
    app = CreateApp(name="shop", git_url="https://example.com/a.git", domains=["blog.example.com"])
    with pytest.raises(AlreadyExists, match="already used by stack 'blog'"):
        call(services.apps.handle, SYSTEM, app)


def test_new_routes_claim_their_domains_and_free_the_old_ones(
    call: Callable[..., Any], services: Any
) -> None:
    stack_id = make(call, services, routes=[ROUTE])
    moved = StackRouteInput(service="web", port=80, domains=["www.example.com"])
    call(services.stacks.change, SYSTEM, ChangeStackSettings(stack_id=stack_id, routes=[moved]))
    freed = CreateStack(name="other", compose=COMPOSE, routes=[ROUTE])
    call(services.stacks.create, SYSTEM, freed)  # blog.example.com is free again


def test_a_repository_the_instance_does_not_fetch_from_is_refused_before_it_is_recorded(
    call: Callable[..., Any], services: Any
) -> None:
    for url in ("file:///etc", "/var/run", "https://127.0.0.1/x.git"):
        with pytest.raises(RepositoryRefused, match="git_url"):
            call(services.stacks.create, SYSTEM, CreateStack(name="s", git_url=url))
    stack_id = make(call, services)
    local = ChangeStackSettings(stack_id=stack_id, git_url="file:///etc", compose=None)
    with pytest.raises(RepositoryRefused):
        call(services.stacks.change, SYSTEM, local)


def test_variables_are_sealed_and_a_viewer_changes_nothing(
    call: Callable[..., Any], services: Any
) -> None:
    stack_id = make(call, services, variables={"A": "1"})
    call(
        services.stacks.set_variables,
        SYSTEM,
        SetStackVariables(stack_id=stack_id, variables={"B": "2", "A": None}),
    )
    state = fold(call, services, STACKS, stack_id)
    assert services.stacks.open(stack_id, state.variables) == {"B": "2"}
    viewer = user_actor("vic@example.com", {"default": "viewer"})
    with pytest.raises(Forbidden):
        call(services.stacks.deploy, viewer, DeployStack(stack_id=stack_id))
    with pytest.raises(NotFound):
        call(services.stacks.deploy, SYSTEM, DeployStack(stack_id="aaaaaaaaaaaa"))


def test_a_release_is_asked_for_and_a_rollback_takes_a_served_releases_images(
    call: Callable[..., Any], services: Any
) -> None:
    stack_id = make(call, services)
    asked, _ = call(services.stacks.deploy, SYSTEM, DeployStack(stack_id=stack_id))
    assert fold(call, services, STACK_RELEASES, asked).stack_id == stack_id
    with pytest.raises(InvalidCommand, match="never served"):  # (no engine here: it fails)
        call(services.stacks.roll_back, SYSTEM, RollBackStack(stack_id=stack_id, to=asked))
    served = "servedaaaaaa"
    steps = served_history(stack_id, served)
    appended(call, services, f"stack-release-{served}", steps, _meta(stack_id))
    back, _ = call(services.stacks.roll_back, SYSTEM, RollBackStack(stack_id=stack_id, to=served))
    again = fold(call, services, STACK_RELEASES, back)
    assert (again.rollback_of, again.wanted_images) == (served, {"web": "sha256:1"})
    view = call(services.read.stacks.one, stack_id)
    assert (view.live_release_id, view.last_release_id) == (served, back)


def test_a_stacks_domains_reach_its_live_releases_container_on_the_routed_port(
    call: Callable[..., Any], services: Any
) -> None:
    api = StackRouteInput(service="api", port=8080, domains=["api.example.com"])
    stack_id = make(call, services, routes=[ROUTE, api])
    parked = call(route_table, services.read)
    assert parked["blog.example.com"] == Parked("blog/web")
    release_id = "routedaaaaaa"
    steps = [
        StackReleaseRequested(release_id=release_id, stack_id=stack_id),
        StackSourceFetched(release_id=release_id, compose_digest="d"),
        StackComposeRead(release_id=release_id, waves=[["api"], ["web"]]),
        *(
            StackServiceImageReady(release_id=release_id, service=s, image="sha256:1")
            for s in ("api", "web")
        ),
        StackServiceStarted(
            release_id=release_id,
            service="api",
            container="a",
            mode="beside",
            host_ports={8080: 40001},
        ),
        StackServiceStarted(
            release_id=release_id,
            service="web",
            container="w",
            mode="beside",
            host_ports={80: 40002},
        ),
        StackServiceReady(release_id=release_id, service="api"),
        StackServiceReady(release_id=release_id, service="web"),
    ]
    appended(call, services, f"stack-release-{release_id}", steps, _meta(stack_id))
    assert call(route_table, services.read)["api.example.com"] == Parked("blog/api")
    switched = [StackSwitched(release_id=release_id)]
    appended(call, services, f"stack-release-{release_id}", switched, _meta(stack_id))
    table = call(route_table, services.read)
    assert table["api.example.com"] == Upstream("blog/api", "127.0.0.1", 40001, release_id)
    assert table["blog.example.com"] == Upstream("blog/web", "127.0.0.1", 40002, release_id)


def test_a_deleted_stack_gives_its_name_and_domains_up(
    call: Callable[..., Any], services: Any
) -> None:
    stack_id = make(call, services, routes=[ROUTE])
    call(services.stacks.delete, SYSTEM, DeleteStack(stack_id=stack_id))
    assert call(services.read.stacks.one, stack_id) is None
    make(call, services, routes=[ROUTE])  # the same name and domain, free again
    with pytest.raises(NotFound):
        call(services.stacks.deploy, SYSTEM, DeployStack(stack_id=stack_id))


def _meta(stack_id: str) -> Any:
    from rivetr.adapters.eventstore.base import EventMeta

    return EventMeta(actor="system:stacks", team="default", resource=stack_id)


def appended(call: Callable[..., Any], services: Any, stream: str, events: Any, meta: Any) -> None:
    """Append as a reactor does, and wait for the read model to have it."""
    recorded = call(services.store.append, stream, None, events, meta)
    call(services.runner.wait_until, recorded[-1].position)
