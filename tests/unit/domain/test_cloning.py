"""The clone's pattern language, its clash detection and its one decision; and what a
promotion decides on the streams of both apps and of the release."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain import (
    application,
    claims,
    clone_patterns,
    cloning,
    deployment,
    projects,
    promotion,
)
from rivetr.domain.commands import CloneEnvironment, CreateApp, RequestDeployment
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import (
    AppCreated,
    ContainerStarted,
    DeploymentHealthy,
    DeploymentRequested,
    DeploymentSuperseded,
    DomainsClaimed,
    EnvironmentCloned,
    EnvironmentCreated,
    Event,
    NameClaimed,
    ProjectCreated,
    TrafficSwitched,
)


def clone_of(**changes: object) -> CloneEnvironment:
    fields: dict[str, object] = {
        "team": "acme",
        "project": "shop",
        "environment": "production",
        "to_environment": "staging",
        "name_pattern": "{name}-{env}",
        "domain_pattern": "{sub}.staging.{zone}",
        "create_environment": True,
    }
    return CloneEnvironment(**(fields | changes))  # type: ignore[arg-type]


def app(app_id: str, name: str, domains: tuple[str, ...] = (), team: str = "acme"):  # type: ignore[no-untyped-def]
    events = application.decide(
        application.initial_state(app_id),
        CreateApp(name=name, team=team, domains=list(domains), project="shop"),
    )
    return application.fold(app_id, events)


def held(*apps) -> claims.ClaimsState:  # type: ignore[no-untyped-def]
    state = claims.ClaimsState()
    for a in apps:
        for event in claims.claim_name(state, a.name, a.app_id, a.team) + claims.claim_domains(
            state, a.app_id, a.team, a.domains
        ):
            state = claims.evolve(state, event)
    return state


@pytest.mark.parametrize(
    ("pattern", "domain", "made"),
    [
        ("{sub}.staging.{zone}", "shop.example.com", "shop.staging.example.com"),
        ("{sub}.staging.{zone}", "*.example.com", "*.staging.example.com"),
        ("{sub}.staging.{zone}", "shop.example.com/api", "shop.staging.example.com/api"),
        ("staging.{domain}", "shop.example.com", "staging.shop.example.com"),
        ("{name}.{env}.example.net", "anything.example.com", "web.staging.example.net"),
        ("{new_name}.example.net", "anything.example.com", "web-staging.example.net"),
    ],
)
def test_a_domain_pattern_rewrites_each_host_and_keeps_its_path(
    pattern: str, domain: str, made: str
) -> None:
    command = clone_of(domain_pattern=pattern)

    assert clone_patterns.copy_domains(command, "web", "web-staging", [domain]) == [made]


def test_a_name_pattern_knows_only_its_placeholders() -> None:
    named = clone_patterns.copy_name(clone_of(name_pattern="{project}-{name}-{from_env}"), "web")
    assert named == "shop-web-production"
    with pytest.raises(InvalidCommand, match=r"unknown placeholder \{sub\}"):
        clone_patterns.copy_name(clone_of(name_pattern="{sub}"), "web")
    with pytest.raises(InvalidCommand, match="a brace that opens no placeholder"):
        clone_patterns.copy_name(clone_of(name_pattern="{name"), "web")


def test_without_a_domain_pattern_the_copies_have_no_domains() -> None:
    command = clone_of(domain_pattern=None)
    assert clone_patterns.copy_domains(command, "web", "x", ["a.example.com"]) == []


def test_a_plan_that_makes_invalid_names_or_domains_names_each() -> None:
    sources = [app("a1", "web", ("shop.example.com",)), app("a2", "api")]
    command = clone_of(name_pattern="{name}_{env}", domain_pattern="{sub}..{zone}")

    with pytest.raises(InvalidCommand) as refused:
        cloning.plan(command, sources, ["n1", "n2"])

    said = str(refused.value)
    assert "the copy of 'web' would be named 'web_staging', not a DNS label" in said
    assert "the copy of 'api' would be named 'api_staging'" in said
    assert "'shop..example.com', not a valid domain" in said


def test_clashes_with_other_apps_and_between_copies_are_all_found() -> None:
    web = app("a1", "web", ("shop.example.com",))
    shop = app("a2", "shop", ("shop.example.com/api",))
    theirs = app("t1", "web-staging", ("*.staging.example.com",), team="other")
    copies = cloning.plan(
        clone_of(domain_pattern="{sub}.staging.{zone}"), [web, shop], ["n1", "n2"]
    )

    found = cloning.clashes(held(web, shop, theirs), copies, "acme")

    assert [(c.copy_of, c.what, c.value, c.held, c.with_copy_of) for c in found] == [
        ("web", "name", "web-staging", "web-staging", None),
        ("web", "domain", "shop.staging.example.com", "*.staging.example.com", None),
        ("shop", "domain", "shop.staging.example.com/api", "*.staging.example.com", None),
    ]
    same = cloning.plan(
        clone_of(name_pattern="same", domain_pattern="x.{zone}"), [web, shop], ["n1", "n2"]
    )
    between = cloning.clashes(held(web, shop), same, "acme")
    assert [(c.what, c.value, c.with_copy_of) for c in between] == [("name", "same", "web")]


def test_a_clone_makes_every_copy_with_its_claims_and_one_event_or_nothing() -> None:
    web = app("a1", "web", ("shop.example.com",))
    command = clone_of()
    [copy] = cloning.plan(command, [web], ["n1"])
    create = cloning.copy_command(web, copy, "acme", "shop", "staging")
    source = projects.fold("acme/shop", [_created_project()])

    parts = cloning.decide(source, source, held(web), command, [(copy, create)])

    assert [
        (stream, [type(e) for e in events], resource) for stream, events, resource in parts
    ] == [
        ("app-n1", [AppCreated], "n1"),
        ("claims", [NameClaimed, DomainsClaimed], "n1"),
        ("project-acme/shop", [EnvironmentCreated, EnvironmentCloned], None),
    ]
    cloned = parts[-1][1][-1]
    assert isinstance(cloned, EnvironmentCloned)
    assert [(r.from_id, r.from_name, r.id, r.name) for r in cloned.resources] == [
        ("a1", "web", "n1", "web-staging")
    ]
    with pytest.raises(cloning.CloneRefused, match="'staging' is not empty: it holds app x"):
        cloning.decide(source, source, held(web), clone_of(holds=["app x"]), [(copy, create)])
    with pytest.raises(NotFound, match="no environment 'staging'"):
        cloning.decide(
            source, source, held(web), clone_of(create_environment=False), [(copy, create)]
        )
    with pytest.raises(InvalidCommand, match="holds nothing to clone"):
        cloning.decide(source, source, held(web), command, [])


@given(st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True))
def test_any_name_pattern_of_literals_and_name_gives_the_same_for_the_same_app(name: str) -> None:
    command = clone_of(name_pattern="{name}-copy")

    assert clone_patterns.copy_name(command, name) == f"{name}-copy"


def _created_project() -> Event:
    return ProjectCreated(team="acme", project="shop", name="Shop", environments=["production"])


# --- promotion ---------------------------------------------------------------------------------


def release(app_id: str, status: str = "live") -> deployment.DeploymentState:
    events: list[Event] = [
        DeploymentRequested(
            deployment_id="d1", app="web-staging", app_id=app_id, branch="main", image="img"
        ),
        ContainerStarted(
            deployment_id="d1",
            container_id="c",
            container_name="n",
            image="img",
            host_port=1,
            duration_ms=1,
        ),
    ]
    if status in ("live", "superseded"):
        events += [
            _healthy(),
            TrafficSwitched(deployment_id="d1", app="web-staging", host_port=1),
        ]
    if status == "superseded":
        events.append(DeploymentSuperseded(deployment_id="d1", by_deployment_id="d2", drain_s=0))
    return deployment.fold("d1", events)


def _healthy() -> Event:
    return DeploymentHealthy(deployment_id="d1", probes=1, duration_ms=1)


def test_a_promotion_requests_the_release_image_naming_where_it_came_from() -> None:
    target, source = app("p1", "web"), app("s1", "web-staging")
    command = RequestDeployment(deployment_id="d9", app="web", promoted_from="d1")

    [requested] = promotion.decide(
        target, source, release("s1"), deployment.DeploymentState(deployment_id="d9"), command
    )

    assert isinstance(requested, DeploymentRequested)
    assert (requested.app_id, requested.image, requested.rollback_of) == ("p1", "img", None)
    assert (
        requested.promoted_from,
        requested.promoted_from_app_id,
        requested.promoted_from_app,
    ) == (
        "d1",
        "s1",
        "web-staging",
    )


@pytest.mark.parametrize(
    ("source", "status", "says"),
    [
        (("s1", "web-staging", "acme"), "superseded", "is superseded, not live"),
        (("s1", "web-staging", "acme"), "starting", "is starting, not live"),
        (("s2", "other", "acme"), "live", "no deployment 'd1' of application 'other'"),
        (("s1", "web-staging", "other"), "live", "different teams"),
        (("p1", "web", "acme"), "live", "promoted from another application"),
    ],
)
def test_a_release_that_is_not_live_in_its_app_is_never_promoted(
    source: tuple[str, str, str], status: str, says: str
) -> None:
    app_id, name, team = source
    command = RequestDeployment(deployment_id="d9", app="web", promoted_from="d1")
    fresh = deployment.DeploymentState(deployment_id="d9")

    with pytest.raises((InvalidCommand, NotFound), match=says):
        promotion.decide(
            app("p1", "web"), app(app_id, name, team=team), release("s1", status), fresh, command
        )
