"""What a stack's deployer would record about a release, written by the tests themselves: the
dashboard only asks and reads, so its pages are tested on the states these steps put a
release in (each history one append, as `releases.served_stack` writes one)."""

from __future__ import annotations

from typing import Any

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.replica_events import Member
from rivetr.domain.stack_events import (
    StackComposeRead,
    StackReleaseFailed,
    StackReleaseSuperseded,
    StackServiceBalanced,
    StackServiceImageReady,
    StackServiceOnServers,
    StackServiceReady,
    StackServiceStarted,
    StackSourceFetched,
    StackSwitched,
)

IMAGE = "sha256:" + "0123456789ab" * 5 + "cdef"


async def recorded(services: Any, stack_id: str, release_id: str, steps: list[Any]) -> None:
    """`steps` appended to the release's stream, as the deployer would record them."""
    view = await services.read.stacks.one(stack_id)
    meta = EventMeta(actor="system:stacks", team=view.team, resource=stack_id)
    done = await services.store.append(f"stack-release-{release_id}", None, steps, meta)
    await services.runner.wait_until(done[-1].position)


def went_live(release_id: str, services: tuple[str, ...] = ("web", "db")) -> list[Any]:
    """Every service started, ready, and the routes switched to the release."""
    steps: list[Any] = [
        StackSourceFetched(release_id=release_id, compose_digest="d"),
        StackComposeRead(release_id=release_id, waves=[[s] for s in reversed(services)]),
    ]
    for service in reversed(services):
        steps += [
            StackServiceImageReady(release_id=release_id, service=service, image=IMAGE),
            StackServiceStarted(
                release_id=release_id,
                service=service,
                container=f"stack-{service}-{release_id}",
                mode="beside",
                host_ports={80: 30080} if service == "web" else {},
            ),
            StackServiceReady(release_id=release_id, service=service),
        ]
    return [*steps, StackSwitched(release_id=release_id)]


def on_servers(release_id: str) -> list[Any]:
    """web's 2 copies on servers, db a container here; live."""
    copies = [
        Member(task_id="t1", node="vps-2", address="10.0.0.2", port=30001),
        Member(task_id="t2", node="vps-3", address="10.0.0.3", port=30002),
    ]
    return [
        StackSourceFetched(release_id=release_id, compose_digest="d"),
        StackComposeRead(release_id=release_id, waves=[["db"], ["web"]]),
        StackServiceImageReady(release_id=release_id, service="db", image=IMAGE),
        StackServiceImageReady(release_id=release_id, service="web", image=IMAGE),
        StackServiceStarted(
            release_id=release_id, service="db", container=f"stack-db-{release_id}", mode="keep"
        ),
        StackServiceReady(release_id=release_id, service="db"),
        StackServiceOnServers(
            release_id=release_id,
            service="web",
            service_name=f"rivetr-blog-web-{release_id}",
            image=f"10.0.0.1:5000/rivetr/blog-web@sha256:{'ab' * 32}",
            mode="beside",
            replicas=2,
            placement="node.role==worker",
        ),
        StackServiceBalanced(release_id=release_id, service="web", members={80: copies}),
        StackServiceReady(release_id=release_id, service="web"),
        StackSwitched(release_id=release_id),
    ]


def failed_health(release_id: str) -> list[Any]:
    """The web service never became healthy: the release failed there."""
    return [
        StackSourceFetched(release_id=release_id, compose_digest="d"),
        StackComposeRead(release_id=release_id, waves=[["web"]], warnings=["`links` ignored"]),
        StackServiceImageReady(release_id=release_id, service="web", image=IMAGE),
        StackServiceStarted(
            release_id=release_id, service="web", container="stack-web-new", mode="beside"
        ),
        StackReleaseFailed(
            release_id=release_id,
            step="health",
            service="web",
            reason="no answer on port 80 after 30 s",
        ),
    ]


def superseded(release_id: str, by: str) -> list[Any]:
    return [StackReleaseSuperseded(release_id=release_id, by=by)]
