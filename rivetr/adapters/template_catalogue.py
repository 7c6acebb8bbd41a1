"""The one-click templates shipped inside the package (`rivetr/templates/<slug>/`): read through
`importlib.resources`, so an installed wheel finds them as a checkout does, checked and sorted
once when loaded; a template's compose text and logo are read when asked for."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable

from rivetr.domain.errors import DomainError, NotFound
from rivetr.domain.templates import Template, search, template_from_metadata

COMPOSE_FILE = "compose.yaml"
METADATA_FILE = "template.toml"


class MalformedTemplate(Exception):
    """A shipped template Rivetr cannot use: a fault in the package, so it stops the load
    (the tests meet it, never a user); the message names the template's directory."""


class TemplateCatalogue:
    """Every template under `root` (a directory per template), sorted by name."""

    def __init__(self, root: Traversable) -> None:
        self._root = root
        loaded = [
            _load(entry) for entry in root.iterdir() if entry.is_dir() and _is_template(entry)
        ]
        self.templates: tuple[Template, ...] = tuple(search(loaded))
        self._by_slug = {template.slug: template for template in self.templates}

    @classmethod
    @functools.cache
    def packaged(cls) -> TemplateCatalogue:
        """The catalogue shipped with Rivetr, loaded on first use and kept."""
        return cls(resources.files("rivetr.templates"))

    def get(self, slug: str) -> Template:
        """The template `slug`.

        Raises:
            NotFound: There is no such template.
        """
        try:
            return self._by_slug[slug]
        except KeyError:
            raise NotFound(f"no template {slug!r}", field="template") from None

    def compose(self, slug: str) -> str:
        """The text of the template's compose file."""
        return self._file(slug, COMPOSE_FILE).read_text(encoding="utf-8")

    def logo(self, slug: str) -> bytes:
        """The bytes of the template's logo (SVG)."""
        return self._file(slug, self.get(slug).logo).read_bytes()

    def search(self, text: str = "", category: str | None = None) -> Sequence[Template]:
        """Templates matching every word of `text` in `category`, by name (see
        `domain.templates.search`)."""
        return search(self.templates, text, category)

    def _file(self, slug: str, name: str) -> Traversable:
        self.get(slug)
        return self._root / slug / name


def _is_template(entry: Traversable) -> bool:
    # a directory without metadata is refused below; only a cache Python left is skipped
    return not entry.name.startswith(("_", "."))


def _load(directory: Traversable) -> Template:
    where = f"rivetr/templates/{directory.name}"
    try:
        metadata = tomllib.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
        template = template_from_metadata(directory.name, metadata)
    except FileNotFoundError:
        raise MalformedTemplate(f"{where}: no {METADATA_FILE}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, DomainError) as exc:
        raise MalformedTemplate(f"{where}/{METADATA_FILE}: {exc}") from exc
    for needed in (COMPOSE_FILE, template.logo):
        if not (directory / needed).is_file():
            raise MalformedTemplate(f"{where}: no {needed}")
    return template
