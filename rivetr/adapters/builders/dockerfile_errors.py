"""Dockerfile mistakes in one sentence a user can act on: the engine's words ("dockerfile parse
error line 4: unknown instruction: RUNN", or Podman's, which name no line) turned into the
line, the instruction and a likely fix; the engine's own text stays in the log."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path

from rivetr.adapters.runtime.base import BuildFailed

INSTRUCTIONS = (
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
)  # fmt: skip

_UNKNOWN = re.compile(r'(?i)unknown instruction:\s*"?([^\s"]+)"?')
_LINE = re.compile(r"(?i)\bline (\d+)\b")


def instruction_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, INSTRUCTION, the line as written) for each instruction of a Dockerfile,
    numbered as the engine numbers them: where the instruction starts."""
    found: list[tuple[int, str, str]] = []
    continued = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if continued:
            continued = line.endswith("\\")
            continue
        if not line or line.startswith("#"):
            continue
        found.append((number, line.split()[0].upper(), line))
        continued = line.endswith("\\")
    return found


def unknown_instruction(text: str, message: str, shown: str = "the Dockerfile") -> str | None:
    """The sentence for an engine `message` about an unknown instruction in Dockerfile `text`
    (called `shown`), or None when the message is about something else."""
    match = _UNKNOWN.search(message)
    if match is None:
        return None
    word = match[1].rstrip(":").upper()
    lines = instruction_lines(text)
    said = _LINE.search(message)
    number = int(said[1]) if said else next((n for n, w, _ in lines if w == word), None)
    written = next((line for n, _, line in lines if n == number), word)
    where = f"line {number} of {shown}" if number is not None else shown
    sentence = f"{where} has an unknown instruction {word}: `{written}`"
    close = difflib.get_close_matches(word, INSTRUCTIONS, n=1)
    return f"{sentence}; did you mean {close[0]}?" if close else f"{sentence}; fix or remove it"


def explained(
    failure: BuildFailed, dockerfile: Path, shown: str, on_output: Callable[[str], None] | None
) -> BuildFailed:
    """`failure` as a user can act on it, when its cause is one this module knows: the
    engine's text goes to the build output (and the log tail) and the message is the sentence.
    Otherwise `failure` itself."""
    try:
        text = dockerfile.read_text(errors="replace")
    except OSError:
        return failure
    sentence = unknown_instruction(text, str(failure), shown)
    if sentence is None:
        return failure
    raw = str(failure)
    if on_output is not None:
        on_output(raw)
    return BuildFailed(sentence, f"{failure.log}{raw}\n")
