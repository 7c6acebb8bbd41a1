"""A compose file given inline, weighed when it is saved as its deploy will weigh it, with what
is not known yet left open: a variable whose value holds a reference (`${{db.URL}}`, resolved
only at deploy time), and one the file uses that is not set yet (it may be set before the
deploy). A refusal on a line that uses such a variable is the deploy's to make; every other is
made now, each naming its line and key, so a user fixes the file before it is saved. So are
copies on servers: whether there are servers is the deploy's to know."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.compose.interpolation import Part, TemplateError, Variable, parse
from rivetr.domain.compose.refusals import ComposeRefusals
from rivetr.domain.compose.sources import InMemorySources
from rivetr.domain.compose.stack_file import read_stack_file
from rivetr.domain.compose.where import ComposeError

INLINE_ENTRY: Final = "compose.yaml"  # the name a release writes an inline file under
_REFERENCE: Final = "${{"
# what an open variable stands in as: not empty, so `${X:?}` reads it as set, and plain, so a
# port or a count written with it still reads (the lines using it are the deploy's to judge;
# the others are weighed as they will be, up to the policy's last refusal)
_STAND_IN: Final = "0"


def check_inline(
    text: str, *, variables: Mapping[str, str], allowances: Allowances, data_dir: str
) -> None:
    """Refuses what the deploy of `text` would refuse whatever the open variables turn out to be.

    Args:
        text: the compose file, as it is saved.
        variables: the stack's variables, as given (references unresolved).
        allowances: what an instance admin allowed the stack's team.
        data_dir: Rivetr's data directory, absolute.

    Raises:
        ComposeError: each refusal that stands, naming `compose.yaml:LINE: key` (several at
            once as `ComposeRefusals`).
    """
    lines = text.splitlines()
    used = {n for line in lines for n in _names(line)}
    referring = {name for name, value in variables.items() if _REFERENCE in value}
    open_names = (used - set(variables)) | referring
    given = {**variables, **dict.fromkeys(open_names, _STAND_IN)}
    try:
        read_stack_file(
            InMemorySources({INLINE_ENTRY: text}),
            INLINE_ENTRY,
            variables=given,
            allowances=allowances,
            data_dir=data_dir,
            # copies on servers are weighed as if there were servers: they may be made
            # before the deploy, which refuses the copies when there are none
            servers=True,
        )
    except ComposeError as refused:
        found = refused.refusals if isinstance(refused, ComposeRefusals) else (refused,)
        standing = [one for one in found if not _left_open(one, lines, open_names)]
        if len(standing) == 1:
            raise standing[0] from None
        if standing:
            raise ComposeRefusals(standing) from None


def _left_open(refusal: ComposeError, lines: list[str], open_names: set[str]) -> bool:
    """The refusal is on a line that uses a variable not known until the deploy."""
    at = refusal.location
    if not open_names or at is None or at.file != INLINE_ENTRY or not 0 < at.line <= len(lines):
        return False
    return bool(_names(lines[at.line - 1]) & open_names)


def _names(line: str) -> set[str]:
    """The variables a line of the file interpolates (none where it is not a valid template:
    then the reader refuses it whatever the variables hold)."""
    try:
        return set(_variables(parse(line)))
    except TemplateError:
        return set()


def _variables(parts: Iterable[Part]) -> Iterable[str]:
    for part in parts:
        if isinstance(part, Variable):
            yield part.name
            yield from _variables(part.argument)
