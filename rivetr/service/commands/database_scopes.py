"""The databases of an environment as reference scopes: `${{<name>.URL}}` and its parts
(`HOST`, `PORT`, `USER`, `PASSWORD`, `DATABASE`), opened for one deployment. Which databases
an environment holds is read from the claims their names make (the log, not the read model:
a database made a moment ago is there), their credentials from their own streams."""

from __future__ import annotations

from rivetr.adapters.eventstore.base import EventStore
from rivetr.adapters.secrets import SecretBox
from rivetr.domain import claims
from rivetr.domain.aggregates import CLAIMS, DATABASES
from rivetr.domain.database_kinds import KINDS, Credentials
from rivetr.service.commands.databases import password_context
from rivetr.service.commands.handler import folded


async def database_scopes(
    store: EventStore, secrets: SecretBox, team: str, project: str, environment: str
) -> dict[str, dict[str, str]]:
    """Each database of the environment by name: its connection's parts, as its apps reach it
    on the environment's network (by its name, on its own port).

    Raises:
        SecretError: a password does not open.
    """
    held = await folded(store, CLAIMS.at())
    prefix = claims.database_name(team, project, environment, "")
    scopes: dict[str, dict[str, str]] = {}
    for key, holder in sorted(held.names.items()):
        if not key.startswith(prefix):
            continue
        state = await folded(store, DATABASES.at(holder.resource_id))
        if not state.exists or state.deleted:
            continue
        creds = Credentials(
            user=state.user,
            password=secrets.open(password_context(state.database_id), state.password),
            database=state.database,
        )
        connection = KINDS[state.kind].connection(creds, state.name, state.port)
        scopes[state.name] = connection.variables()
    return scopes
