"""Cloning an environment and promoting a release, on the twins of every port: the copy deploys
on its own, and a promotion deploys the image live in staging to production without fetching
or building, with production's own variables; what is not live is refused with nothing
appended."""

from __future__ import annotations

import pytest

from rivetr.domain.access import SYSTEM
from rivetr.domain.cloning import CloneRefused
from rivetr.domain.commands import ChangeAppSettings, CloneEnvironment, CreateApp, DeleteApp
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import DeploymentRequested
from rivetr.service.commands.secrets import open_app
from rivetr.service.reactors.pruning import prune_images
from tests.unit.service.reactors.house import HEALTH, URL, House, settled, until

pytestmark = pytest.mark.anyio

IMAGE_DEPLOY = [
    "deployment.requested",
    "deployment.container_started",
    "deployment.health_probed",
    "deployment.healthy",
    "deployment.traffic_switched",
]
STAGING = CloneEnvironment(
    team="default",
    project="default",
    environment="production",
    to_environment="staging",
    name_pattern="{name}-staging",
    domain_pattern="{sub}.staging.{zone}",
    create_environment=True,
)


async def deployed(services, app: str) -> str:  # type: ignore[no-untyped-def]
    deployment_id = await services.deployments.request(SYSTEM, app)
    state = await until(services, deployment_id, {"live", "failed", "rolled_back"})
    assert state.status == "live", await services.read.deployments.by_id(deployment_id)
    return deployment_id


async def make_web(services) -> None:  # type: ignore[no-untyped-def]
    await services.apps.handle(
        SYSTEM,
        CreateApp(
            name="web",
            git_url=URL,
            port=8080,
            health=HEALTH,
            domains=["shop.example.com", "shop.example.com/api"],
            env={"DATABASE_URL": "postgres://prod"},
            git_token="ghp_secret",
            watch_paths=["src/**"],
            previews=True,
        ),
    )


async def test_a_clone_copies_every_setting_under_new_names_and_domains(house: House) -> None:
    async with house.running() as services:
        await make_web(services)

        cloned = await services.clones.clone(SYSTEM, STAGING)

        assert [(a.from_app, a.app, a.domains) for a in cloned.apps] == [
            ("web", "web-staging", ["shop.staging.example.com", "shop.staging.example.com/api"])
        ]
        copy = open_app(services.secrets, await services.lookup.by_name("web-staging"))
        web = await services.lookup.by_name("web")
        assert copy.app_id != web.app_id
        assert (copy.project, copy.environment) == ("default", "staging")
        assert copy.env == {"DATABASE_URL": "postgres://prod"}  # sealed again for the copy
        assert copy.git_token == "ghp_secret"
        assert (copy.git_url, copy.port, copy.watch_paths, copy.previews) == (
            URL,
            8080,
            ("src/**",),
            True,
        )
        assert copy.health == web.health
        assert copy.webhook_secret is None
        assert await services.read.counterparts.of(web.app_id) == [copy.app_id]
        assert await services.promotions.counterparts(copy) == ["web"]


async def test_a_clone_that_clashes_is_refused_whole_naming_every_clash(house: House) -> None:
    async with house.running() as services:
        await make_web(services)
        await services.apps.handle(SYSTEM, CreateApp(name="api", domains=["api.example.com"]))
        await services.apps.handle(
            SYSTEM, CreateApp(name="api-staging", domains=["shop.staging.example.com"])
        )
        before = await services.store.head()

        with pytest.raises(CloneRefused) as refused:
            await services.clones.clone(SYSTEM, STAGING)

        said = str(refused.value)
        assert "the copy of 'api' would be named 'api-staging'" in said
        assert (
            "the copy of 'web' would have the domain shop.staging.example.com, already used by"
            " application 'api-staging'" in said
        )
        assert await services.store.head() == before

        with pytest.raises(CloneRefused, match="would both have the name 'same'"):
            await services.clones.clone(SYSTEM, _with(name_pattern="same"))
        assert await services.store.head() == before


async def test_a_clone_into_an_environment_that_holds_apps_is_refused(house: House) -> None:
    async with house.running() as services:
        await make_web(services)
        await services.clones.clone(SYSTEM, STAGING)
        before = await services.store.head()

        with pytest.raises(CloneRefused, match="'staging' is not empty: it holds app web-staging"):
            await services.clones.clone(SYSTEM, _with(name_pattern="{name}-again"))
        with pytest.raises(NotFound, match="no environment 'qa'"):
            await services.clones.clone(SYSTEM, _with(to_environment="qa", create=False))
        with pytest.raises(InvalidCommand, match=r"unknown placeholder \{nam\}"):
            await services.clones.clone(SYSTEM, _with(name_pattern="{nam}-x"))
        assert await services.store.head() == before


async def test_a_promotion_deploys_the_live_image_of_staging_without_building(
    house: House,
) -> None:
    house.commit("v1")
    async with house.running() as services:
        await make_web(services)
        await services.clones.clone(SYSTEM, STAGING)
        await services.apps.handle(
            SYSTEM, ChangeAppSettings(name="web-staging", env={"DATABASE_URL": "postgres://stg"})
        )
        staged = await deployed(services, "web-staging")
        staged_image = (await services.recorder.state(staged)).image
        built = list(house.builder.built)

        promoted = await services.promotions.promote(SYSTEM, "web")
        state = await until(services, promoted, {"live", "failed"})

        assert state.status == "live"
        assert state.image == staged_image
        assert house.builder.built == built  # nothing built
        steps = await services.store.read_stream(f"deployment-{promoted}")
        assert [e.type for e in steps] == IMAGE_DEPLOY
        requested = steps[0].event
        assert isinstance(requested, DeploymentRequested)
        staging_app = await services.lookup.by_name("web-staging")
        assert (requested.promoted_from, requested.promoted_from_app) == (staged, "web-staging")
        assert requested.promoted_from_app_id == staging_app.app_id
        started = [c for c in house.runtime._containers.values() if promoted in c.spec.name]
        assert started[0].spec.env == {"DATABASE_URL": "postgres://prod"}  # production's own


async def test_only_the_live_release_of_the_source_is_promoted(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await make_web(services)
        await services.clones.clone(SYSTEM, STAGING)
        before = await services.store.head()
        with pytest.raises(InvalidCommand, match="'web-staging' has no live release"):
            await services.promotions.promote(SYSTEM, "web", from_app="web-staging")
        first = await deployed(services, "web-staging")
        await deployed(services, "web-staging")
        before = await services.store.head()

        with pytest.raises(InvalidCommand, match=f"deployment {first} is not the release live"):
            await services.promotions.promote(SYSTEM, "web", release=first)
        with pytest.raises(InvalidCommand, match="promoted from another application"):
            await services.promotions.promote(SYSTEM, "web", from_app="web")
        assert await services.store.head() == before


def _with(
    *, name_pattern: str = "{name}-staging", to_environment: str = "staging", create: bool = True
) -> CloneEnvironment:
    return CloneEnvironment(
        team="default",
        project="default",
        environment="production",
        to_environment=to_environment,
        name_pattern=name_pattern,
        domain_pattern="{sub}.staging.{zone}",
        create_environment=create,
    )


async def test_an_image_promoted_to_production_outlives_stagings_pruning(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await make_web(services)
        await services.clones.clone(SYSTEM, STAGING)
        first = await deployed(services, "web-staging")
        image = (await services.recorder.state(first)).image
        promoted = await services.promotions.promote(SYSTEM, "web")
        await until(services, promoted, {"live"})
        house.commit("v2")
        await deployed(services, "web-staging")
        await until(services, await services.promotions.promote(SYSTEM, "web"), {"live"})
        house.commit("v3")
        await deployed(services, "web-staging")
        await until(services, first, {"retired"})
        await until(services, promoted, {"retired"})  # production keeps it for a rollback
        staging = await services.lookup.by_name("web-staging")

        # staging keeps its two newest images; production's two newest are the ones promoted
        removed = await prune_images(services.read, house.runtime, services.store, staging, 2)

        assert removed == []
        assert await house.runtime.image_exists(image)


async def test_deleting_staging_keeps_the_image_production_was_promoted_to(house: House) -> None:
    house.commit("v1")
    async with house.running() as services:
        await make_web(services)
        await services.clones.clone(SYSTEM, STAGING)
        staged = await deployed(services, "web-staging")
        image = (await services.recorder.state(staged)).image
        first = await services.promotions.promote(SYSTEM, "web")
        await until(services, first, {"live"})
        house.commit("v2")
        newer = await deployed(services, "web-staging")
        newer_image = (await services.recorder.state(newer)).image
        await until(services, await services.promotions.promote(SYSTEM, "web"), {"live"})
        await until(services, first, {"retired"})
        house.commit("v3")
        newest = await deployed(services, "web-staging")
        newest_image = (await services.recorder.state(newest)).image

        await services.apps.handle(SYSTEM, DeleteApp(name="web-staging"))

        await until(services, newest, {"retired"})
        await settled(lambda: newest_image not in house.runtime.images.values())
        assert await house.runtime.image_exists(newer_image)  # production's live release
        assert await house.runtime.image_exists(image)  # and the one it keeps for a rollback
