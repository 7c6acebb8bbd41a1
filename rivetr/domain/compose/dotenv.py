"""`.env` files and a service's `env_file`s, read by Compose's rules (docs.docker.com, "Syntax for
environment files"; compose-go's dotenv parser): `KEY=VALUE` or `KEY: VALUE`, `export ` ignored,
`#` comments (inline only after a space), single quotes literal, double quotes with `\\n`-style
escapes and interpolation, unquoted values interpolated and trimmed, a bare `KEY` taken from the
lookup, and later lines seeing earlier ones. python-dotenv is not used: it does not interpolate
defaults (`${VAR:-x}`) and reads `export`/comments otherwise."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from rivetr.domain.compose.interpolation import Lookup, TemplateError, substitute

_EXPORT: Final = re.compile(r"export[ \t]+")
_ESCAPE: Final = re.compile(r"\\(?:[abfnrtv$\"\\]|0[0-7]{3})")  # `\0101` is "A"
_ESCAPES: Final = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "$": "$$",  # a `$` kept from interpolation, as `$$` is
    '"': '"',
    "\\": "\\",
}
_SPACE: Final = " \t\v\f\r\x85\xa0"  # not the line break


class DotenvError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Dotenv:
    """The variables of one file, the line each was set on, and the unset variables its values
    read as ""."""

    values: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    unset: list[tuple[str, int]] = field(default_factory=list)

    def set(self, key: str, value: str, line: int) -> None:
        self.values[key] = value
        self.lines[key] = line


def parse_dotenv(text: str, lookup: Lookup, *, raw: bool = False) -> Dotenv:
    """The variables `text` sets. Interpolation looks a name up in `lookup` first (the stack's
    variables win over a file), then in the lines above.

    Args:
        text: The file's text.
        lookup: Variables already known.
        raw: `format: raw`: `KEY=VALUE` lines taken as they are, no quotes or interpolation.

    Raises:
        DotenvError: a line that is not `KEY=VALUE`, an unterminated quote, or a value that
            is not a valid template; with its line.
    """
    out = Dotenv()
    if raw:
        for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                out.set(key.strip(), value, number)
        return out
    _Parser(text.removeprefix("\ufeff"), lookup, out).run()
    return out


class _Parser:
    def __init__(self, text: str, lookup: Lookup, out: Dotenv) -> None:
        self.text, self.lookup, self.out = text, lookup, out
        self.at = 0
        self.line = 1

    def find(self, key: str) -> str | None:
        found = self.lookup(key)
        return found if found is not None else self.out.values.get(key)

    def run(self) -> None:
        text = self.text
        while True:
            while self.at < len(text) and text[self.at].isspace():
                self.line += text[self.at] == "\n"
                self.at += 1
            if self.at >= len(text):
                return
            if text[self.at] == "#":
                end = text.find("\n", self.at)
                self.at = len(text) if end < 0 else end
                continue
            self.statement()

    def statement(self) -> None:
        text, line = self.text, self.line
        export = _EXPORT.match(text, self.at)
        if export is not None:
            self.at = export.end()
        start = self.at
        while self.at < len(text) and text[self.at] not in "=:\n":
            char = text[self.at]
            if not (char.isalnum() or char in "_.-[]" or char in _SPACE):
                shown = text[start:].split("\n", 1)[0]
                raise DotenvError(f"unexpected character {char!r} in variable name {shown!r}", line)
            self.at += 1
        key = text[start : self.at].rstrip()
        if " " in key:
            raise DotenvError(f"the variable name {key!r} holds a space", line)
        if self.at >= len(text) or text[self.at] == "\n":  # a bare KEY: the lookup's value
            value = self.find(key)
            if value is not None:
                self.out.set(key, value, line)
            return
        self.at += 1
        while self.at < len(text) and text[self.at] in _SPACE:
            self.at += 1
        quote = text[self.at : self.at + 1]
        if quote in ("'", '"'):
            value = self.quoted(quote, line)
            if quote == '"':
                value = self.expand(_ESCAPE.sub(_unescape, value), line)
        else:
            end = text.find("\n", self.at)
            end = len(text) if end < 0 else end
            value = text[self.at : end].split(" #", 1)[0].rstrip()
            self.at = end
            value = self.expand(value, line)
        self.out.set(key, value, line)

    def quoted(self, quote: str, line: int) -> str:
        """The text up to the closing quote; an escaped quote loses its backslash, any other
        escape keeps it (for the double-quote escapes after)."""
        text, chars = self.text, []
        index = self.at + 1
        while index < len(text):
            char = text[index]
            self.line += char == "\n"
            if char == "\\" and index + 1 < len(text):
                following = text[index + 1]
                self.line += following == "\n"
                chars.append(following if following == quote else char + following)
                index += 2
                continue
            if char == quote:
                self.at = index + 1
                return "".join(chars)
            chars.append(char)
            index += 1
        end = text.find("\n", self.at)
        shown = text[self.at : end if end >= 0 else len(text)]
        raise DotenvError(f"unterminated quoted value {shown}", line)

    def expand(self, value: str, line: int) -> str:
        try:
            expanded, unset = substitute(value, self.find)
        except TemplateError as exc:
            raise DotenvError(str(exc), line) from exc
        self.out.unset.extend((name, line) for name in unset)
        return expanded


def _unescape(found: re.Match[str]) -> str:
    escape = found.group()[1:]
    if not escape.startswith("0"):
        return _ESCAPES[escape]
    code = int(escape[1:], 8)
    return chr(code) if code < 256 else found.group()  # Go refuses it, and keeps the text
