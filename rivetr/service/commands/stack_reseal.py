"""Sealing a stack's secrets again with the newest key, after `rivetr secrets rotate`: its
variables, its private repository's credentials and its webhook secret, each through the
command that sets it (so each is an event of the stack, in its audit), with the same values."""

from __future__ import annotations

from rivetr.domain.access import Actor
from rivetr.domain.aggregates import STACKS
from rivetr.domain.stack_commands import (
    ChangeStackSettings,
    SetStackVariables,
    SetStackWebhookSecret,
)
from rivetr.domain.stacks import decide_webhook_secret
from rivetr.service.commands.handler import folded
from rivetr.service.commands.secrets import open_credentials
from rivetr.service.commands.stacks import StackService, owner
from rivetr.service.commands.webhook_targets import stack_webhook_context


async def reseal_stack(stacks: StackService, actor: Actor, stack_id: str) -> int:
    """Seal the stack's secrets again; return how many events that appended (none for a
    deleted stack).

    Raises:
        SecretError: a value does not open (its key is gone, or it was altered).
    """
    state = await folded(stacks.handler.store, STACKS.at(stack_id))
    if not state.exists or state.deleted:
        return 0
    appended = 0
    if state.variables:
        plain = stacks.open(stack_id, state.variables)
        command = SetStackVariables(stack_id=stack_id, variables=dict(plain))
        appended += len(await stacks.set_variables(actor, command))
    token, deploy_key = open_credentials(
        stacks.secrets, owner(stack_id), state.git_token, state.deploy_key
    )
    if token is not None or deploy_key is not None:
        change = ChangeStackSettings(stack_id=stack_id, git_token=token, deploy_key=deploy_key)
        appended += len(await stacks.change(actor, change))
    if state.webhook_secret is not None:
        context = stack_webhook_context(stack_id)
        secret = stacks.secrets.open(context, state.webhook_secret)
        resealed = SetStackWebhookSecret(
            stack_id=stack_id, secret=stacks.secrets.seal(context, secret), reseal=True
        )
        recorded = await stacks.handler.execute(
            actor, resealed, STACKS, stack_id, decide=decide_webhook_secret, resource=stack_id
        )
        appended += len(recorded)
    return appended
