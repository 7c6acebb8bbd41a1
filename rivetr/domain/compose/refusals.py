"""Every refusal of one compose file raised at once, so a user fixes them in one pass rather
than meeting them one deploy at a time."""

from __future__ import annotations

from collections.abc import Sequence

from rivetr.domain.compose.where import ComposeError, Location, Where


class ComposeRefusals(ComposeError):
    """Several `ComposeError`s of one file, in the order found: `key` and `location` are the
    first's, the message lists each on a line of its own."""

    def __init__(self, refusals: Sequence[ComposeError]) -> None:
        if not refusals:
            raise ValueError("ComposeRefusals needs at least one refusal")
        first = refusals[0]
        super().__init__(first.problem)
        self.key, self.location = first.key, first.location
        self.refusals = tuple(refusals)
        self.args = ("\n".join(str(refusal) for refusal in refusals),)


class Collected:
    """Refusals gathered while weighing a file; `raise_any()` raises them together."""

    def __init__(self, where: Where) -> None:
        self.where = where
        self.found: list[ComposeError] = []

    def refuse(self, problem: str, key: Sequence[str | int]) -> None:
        self.found.append(ComposeError(problem, key=key, where=self.where))

    def raise_any(self) -> None:
        """Raises:
        ComposeError: the one refusal found, or `ComposeRefusals` for several."""
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise ComposeRefusals(sorted(self.found, key=lambda one: reading_order(one.location)))


def reading_order(at: Location | None) -> tuple[bool, str, int]:
    """A sort key: the order a user reads the stack's files in (what has no place last)."""
    return (at is None, at.file if at else "", at.line if at else 0)
