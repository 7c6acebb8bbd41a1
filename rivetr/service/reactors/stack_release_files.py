"""What a stack release reads before it starts anything: its files (the repository fetched at
the release's commit with the stack's git credentials, opened only here, or the inline file
written, for a rollback the text the release gone back to read) and its variables (opened,
their references to the environment's shared variables and databases resolved)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from rivetr.adapters.logs import DeploymentLog
from rivetr.domain.compose.inline_check import INLINE_ENTRY
from rivetr.domain.references import Scopes, resolve
from rivetr.domain.stack_releases import StackReleaseState
from rivetr.domain.stacks import StackState
from rivetr.domain.stacks import stream_id as stack_stream
from rivetr.domain.variables import visible
from rivetr.service.commands.secrets import open_credentials
from rivetr.service.commands.stacks import owner, variable_context
from rivetr.service.commands.variables import SharedScopes
from rivetr.service.reactors.stack_ports import StackPorts, StepFailed

References = tuple[Scopes, dict[str, dict[str, str]]]


class ReleaseFiles:
    """The files of one release, in `checkout`."""

    def __init__(
        self,
        ports: StackPorts,
        stack: StackState,
        state: StackReleaseState,
        checkout: Path,
        log: DeploymentLog,
    ) -> None:
        self.ports = ports
        self.stack = stack
        self.state = state
        self.checkout = checkout
        self.log = log

    async def fetch(self) -> tuple[str, str | None, str]:
        """The compose file's path in the checkout, the commit fetched (None: inline) and the
        file's SHA-256.

        Raises:
            StepFailed: the repository has no compose file at the stack's path.
            SourceError, SecretError: as the fetch or the credentials raise them.
        """
        stack = self.stack
        if stack.git_url is not None:
            token, key = open_credentials(
                self.ports.secrets, owner(stack.stack_id), stack.git_token, stack.deploy_key
            )
            checkout = await self.ports.source.fetch(
                stack.git_url,
                branch=stack.branch,
                commit=self.state.commit,
                dest=self.checkout,
                deploy_key=key,
                token=token,
                on_output=self.log.writer("git"),
            )
            entry, sha = stack.compose_path, checkout.commit_sha
        else:
            text = await self._inline_text()
            self.checkout.mkdir(parents=True, exist_ok=True)
            (self.checkout / INLINE_ENTRY).write_text(text, encoding="utf-8")
            entry, sha = INLINE_ENTRY, None
        try:
            digest = hashlib.sha256((self.checkout / entry).read_bytes()).hexdigest()
        except OSError:
            raise StepFailed(f"the repository has no compose file at {entry}") from None
        return entry, sha, digest

    async def _inline_text(self) -> str:
        """The stack's inline compose file; for a rollback, the text the release gone back to
        read (found in the stack's history by its digest)."""
        assert self.stack.compose is not None
        if self.state.rollback_of is None:
            return self.stack.compose
        target = await self.ports.recorder.state(self.state.rollback_of)
        for recorded in await self.ports.store.read_stream(stack_stream(self.stack.stack_id)):
            text = getattr(recorded.event, "compose", None)
            if isinstance(text, str) and digest_of(text) == target.compose_digest:
                return text
        return self.stack.compose


class ReleaseVariables:
    """The stack's variables as a release interpolates its file with them, and the resolving
    of references its services' environments hold."""

    def __init__(self, ports: StackPorts, stack: StackState) -> None:
        self.ports = ports
        self.stack = stack
        self.references: References | None = None

    async def load_references(self) -> None:
        """What `${{...}}` may name for the stack's place: its shared variables (runtime ones
        given, build-only ones withheld) and its databases."""
        shared = SharedScopes(self.ports.store, self.ports.secrets)
        stack = self.stack
        levels = await shared.opened(stack.team, stack.project, stack.environment)
        given, withheld = visible(levels, "runtime", False)
        given = {**given, **await shared.databases(stack.team, stack.project, stack.environment)}
        self.references = given, withheld

    def opened(self) -> dict[str, str]:
        """The stack's variables opened, their references (`${{project.KEY}}`, `${{pg.URL}}`)
        resolved.

        Raises:
            SecretError: a value does not open.
            UnresolvedReference: naming the chain that failed.
        """
        opened = {
            name: self.ports.secrets.open(variable_context(self.stack.stack_id, name), sealed)
            for name, sealed in self.stack.variables.items()
        }
        return self.resolve(opened)

    def resolve(self, values: dict[str, str]) -> dict[str, str]:
        """`values` with their references resolved (a stack variable or a service's
        environment may hold them).

        Raises:
            UnresolvedReference: naming the chain that failed.
        """
        if self.references is None or not any("${{" in v for v in values.values()):
            return values
        given, withheld = self.references
        return resolve(values, given, withheld).values


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
