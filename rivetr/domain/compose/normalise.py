"""The loaded data of a compose file (after the reader's interpolation, `extends`, `include`
and profiles) made into the typed model, every short syntax read into its long form.

How each field's shapes are read is said on the field (`model.py` and the parts it holds,
through `long_form.py`, `short_syntax.py` and `units.py`); `typed.py` walks the data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from rivetr.domain.compose.model import ComposeProject
from rivetr.domain.compose.typed import At, build
from rivetr.domain.compose.where import Where


def read_model(data: Mapping[str, Any], where: Where) -> ComposeProject:
    """The project `data` describes, in the long form.

    Values interpolation left as text are taken as compose-go takes them (`"8080"` as a port,
    `"yes"` as true). Where the long form puts a value at a path of its own
    (`environment[2]` becomes `environment.KEY`, a port range becomes a port each), `where`
    gains that path, on the line it was written.

    Raises:
        ComposeError: a key the Specification does not have, or a value not of its type,
            naming the key and its line.
    """
    return cast(ComposeProject, build(data, ComposeProject, At((), where)))
