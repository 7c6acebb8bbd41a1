"""How a worker that records its steps (a database's backup, the control plane's) turns the
errors one step may meet into that step's failure: `StepFailed`, naming the step and a cause
a user can act on (a target's own words where it has them)."""

from __future__ import annotations

from typing import Generic, TypeVar

Step = TypeVar("Step", bound=str)


class StepFailed(Exception, Generic[Step]):
    def __init__(self, step: Step, reason: str) -> None:
        super().__init__(reason)
        self.step: Step = step
        self.reason = reason


class during(Generic[Step]):
    """Turn the errors of one step, of the kinds in `failures`, into its `StepFailed`; any
    other error (a bug) goes on as it is."""

    def __init__(self, step: Step, failures: tuple[type[BaseException], ...]) -> None:
        self.step: Step = step
        self.failures = failures

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if exc is None or isinstance(exc, StepFailed) or not isinstance(exc, self.failures):
            return
        reason = getattr(exc, "cause", None) or str(exc) or type(exc).__name__
        raise StepFailed(self.step, reason) from exc
