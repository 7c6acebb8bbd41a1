"""`--wait` of `rivetr stacks deploy`, `rivetr stacks rollback` and `rivetr templates deploy`:
a release's steps printed from the log as they come, service by service, until it is live
(exit 0) or failed (exit 1, saying where and why, with the last lines it left)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterable, Callable
from typing import Any

WAIT_S = 3600.0  # a stack that builds several images takes a while


async def follow(services: Any, release_id: str, timeout: float) -> int:
    """Follow the release in the log from its request on, through the step that ends it."""
    import asyncio

    from rivetr.domain import stack_releases

    stream = stack_releases.stream_id(release_id)
    requested = (await services.store.read_stream(stream))[0]
    events = (
        recorded
        async for recorded in services.store.subscribe(requested.position - 1)
        if recorded.stream_id == stream
    )
    try:
        async with asyncio.timeout(timeout):
            return await followed(events, release_id, _say)
    except TimeoutError:
        _say(f"rivetr: release {release_id} did not end within {timeout:g} s")
    return 1


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def followed(events: AsyncIterable[Any], release_id: str, say: Callable[[str], None]) -> int:
    """Say each of the release's `events` (the log's, in order) as a step; 0 when it went
    live, 1 when it failed or the events ended first.

    The state is folded from the very events said, never read afresh: the log may be further
    on than the subscription, and every step in between must be said too."""
    from rivetr.domain import stack_releases

    state = stack_releases.StackReleaseState(release_id=release_id)
    async for recorded in events:
        state = stack_releases.evolve(state, recorded.event)
        for line in step_lines(recorded):
            say(line)
        if state.status == "live":
            say(f"release {release_id} is live")
            return 0
        if state.status == "failed":
            where = f" ({state.failed_service})" if state.failed_service else ""
            say(f"rivetr: release {release_id} failed{where}: {state.failure}")
            return 1
    return 1


def step_lines(recorded: Any) -> list[str]:
    """A step as the user reads it: its time, whose it is (a service's, or the release's),
    what happened; a failure's last lines of output after it, indented."""
    from rivetr.domain import stack_events as e

    body = recorded.event
    what: str
    more: list[str] = []
    match body:
        case e.StackReleaseRequested(rollback_of=str(to)):
            what = f"requested: roll back to release {to}"
        case e.StackReleaseRequested(trigger=trigger, commit=commit):
            what = f"requested ({trigger}{f', commit {commit}' if commit else ''})"
        case e.StackSourceFetched(commit_sha=sha):
            what = f"source fetched at {sha[:12]}" if sha else "inline compose file taken"
        case e.StackComposeRead(waves=waves, warnings=warnings):
            what = "compose file read; services in order: " + " | ".join(map(", ".join, waves))
            more = [f"  warning: {warning}" for warning in warnings]
        case e.StackServiceImageReady(built=built, image=image):
            what = f"image {'built' if built else 'ready'}: {image.removeprefix('sha256:')[:12]}"
        case e.StackServiceStarted(mode=mode, container=container):
            what = f"container {container} started ({mode})"
        case e.StackServiceReady():
            what = "ready"
        case e.StackSwitched():
            what = "every route switched to this release"
        case e.StackReleaseFailed(step=step, reason=reason, log_tail=tail):
            what = f"failed at {step}: {reason}"
            more = [f"  | {line}" for line in tail]
        case _:
            what = recorded.type.removeprefix("stack_release.")
    whose = getattr(body, "service", None) or "release"
    return [f"{recorded.recorded_at[11:19]} {whose}: {what}", *more]
