"""The verbs of the resource commands (`rivetr db`, `rivetr stacks`, `rivetr templates`): each a
coroutine run on an opened data directory through the same services as the API, what it
answers printed (a line for each item, or with `--json` the API's JSON), a refusal said on
stderr with exit status 1, and input that is not valid with exit status 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from rivetr.cli.shared import run_async
from rivetr.config import Settings

Verb = Callable[[Any, argparse.Namespace], Awaitable[Any]]
Line = Callable[[Any], str]  # what an answer's item prints as, without --json


class Usage(Exception):
    """Input a command cannot take (exit status 2): a flag's value that is not written as the
    command expects, said before anything is asked of the services."""


def pairs(given: list[str], what: str) -> dict[str, str]:
    """`KEY=VALUE` arguments as a dict; `what` names them in the refusal (a label, ...)."""
    found = {}
    for pair in given:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise Usage(f"{what} is KEY=VALUE, not {pair!r}")
        found[key] = value
    return found


def output(common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The parent of a verb's parser: the common flags and `--json`."""
    parent = argparse.ArgumentParser(add_help=False, parents=[common])
    parent.add_argument("--json", action="store_true", help="print the API's JSON answer")
    return parent


def verb(parser: argparse.ArgumentParser, run: Verb, line: Line, **defaults: Any) -> None:
    """`run` is what `parser`'s command does, on the data directory the settings name."""
    parser.set_defaults(run=run_async(_running(run, line)), needs_data=True, **defaults)


def _running(
    run: Verb, line: Line
) -> Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]:
    """The verb on an opened data directory: what it answers printed, a refusal said."""

    async def command(settings: Settings, args: argparse.Namespace) -> int:
        import msgspec

        from rivetr.bootstrap import opened
        from rivetr.domain.errors import DomainError

        async with opened(settings) as services:
            try:
                answer = await run(services, args)
            except (msgspec.ValidationError, Usage) as exc:
                return refused(exc, 2)
            except DomainError as exc:
                return refused(exc, 1)
        if isinstance(answer, int):
            return answer
        show(answer, args, line)
        return 0

    return command


def refused(exc: Exception, status: int) -> int:
    """Say why on stderr, a line each reason (a compose file's refusals are several, each
    naming its `compose.yaml:LINE: key`), and answer the exit status."""
    from rivetr.domain.compose.where import ComposeError

    reasons = str(exc).splitlines() or [type(exc).__name__]
    if isinstance(exc, ComposeError):
        print(f"rivetr: {exc.title.lower()}:", file=sys.stderr)
        for reason in reasons:
            print(f"  {reason}", file=sys.stderr)
        return status
    for reason in reasons:
        print(f"rivetr: {reason}", file=sys.stderr)
    return status


def show(answer: Any, args: argparse.Namespace, line: Line) -> None:
    import msgspec

    if getattr(args, "json", False):
        print(msgspec.json.encode(answer).decode())
        return
    for item in answer if isinstance(answer, list) else [answer]:
        print(line(item))
