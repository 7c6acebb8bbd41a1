"""`rivetr deploy` and `rivetr rollback`: request a deployment through the same service as the
API, and with `--wait` follow its steps in the log until it goes live or fails."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from rivetr.cli.shared import cli_actor, run_async
from rivetr.config import Settings

if TYPE_CHECKING:
    from rivetr.adapters.eventstore.base import LoggedEvent


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    deploy = sub.add_parser("deploy", parents=[common], help="deploy an application")
    deploy.set_defaults(command="deploy")
    deploy.add_argument("app")
    deploy.add_argument("--commit", help="a commit SHA (default: the branch head)")
    deploy.add_argument("--wait", action="store_true", help="follow the steps until it ends")
    deploy.set_defaults(run=run_async(_deploy), needs_data=True)
    rollback = sub.add_parser(
        "rollback", parents=[common], help="redeploy an earlier release's image"
    )
    rollback.set_defaults(command="rollback")
    rollback.add_argument("app")
    rollback.add_argument("--to", help="deployment id (default: the release before the live one)")
    rollback.add_argument("--wait", action="store_true", help="follow the steps until it ends")
    rollback.set_defaults(run=run_async(_deploy), needs_data=True)


async def _deploy(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.bootstrap import opened
    from rivetr.domain.errors import DomainError

    async with opened(settings) as services:
        try:
            if args.command == "rollback":
                deployment_id = await services.deployments.rollback(cli_actor(), args.app, args.to)
            else:
                deployment_id = await services.deployments.request(
                    cli_actor(), args.app, commit=args.commit, trigger="cli"
                )
        except DomainError as exc:
            print(f"rivetr: {exc}", file=sys.stderr)
            return 1
        return await reported(services, deployment_id, args.wait)


async def reported(services: Any, deployment_id: str, wait: bool) -> int:
    """Print the id of the deployment requested, then follow it when asked to `wait`."""
    print(deployment_id)
    if not wait:
        print("requested; the running service deploys it (rivetr serve)", file=sys.stderr)
        return 0
    return await follow(services, deployment_id)


async def follow(services: Any, deployment_id: str) -> int:
    """Print the deployment's steps from the log, in order, through the one that ends the wait:
    0 when it went live, 1 when it failed or was cancelled.

    The state is folded from the very events printed, never read afresh: the log may already
    be further on than the subscription, and the steps in between must be printed too."""
    from rivetr.domain import deployment

    stream = deployment.stream_id(deployment_id)
    requested = (await services.store.read_stream(stream))[0]
    state = deployment.DeploymentState(deployment_id=deployment_id)
    async for recorded in services.store.subscribe(requested.position - 1):
        if recorded.stream_id != stream:
            continue
        state = deployment.evolve(state, recorded.event)
        print(_step(recorded), file=sys.stderr, flush=True)
        if state.status == "live" or state.finished:
            return 0 if state.status in ("live", "retired") else 1
    return 1


def _step(recorded: LoggedEvent) -> str:
    """One line for a deployment's step: its time and type, and why, when it says."""
    from rivetr.domain.events import DeploymentCancelled, DeploymentFailed, HealthProbed

    line = f"{recorded.recorded_at[11:19]} {recorded.type}"
    match recorded.event:
        case DeploymentFailed(step=step, reason=reason):
            return f"{line}: {step}: {reason}"
        case DeploymentCancelled(reason=reason):
            return f"{line}: {reason}"
        case HealthProbed(ok=False, status=status, error=error):
            return f"{line}: {error or f'HTTP {status}'}"
    return line
