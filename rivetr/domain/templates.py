"""One-click service templates: the metadata each carries beside its compose file (what it is,
which service and port the domain routes to, which variables it needs and how each is made),
resolving those variables from injected randomness, and searching the catalogue."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal, get_args

import msgspec

from rivetr.domain.errors import InvalidCommand

Category = Literal[
    "analytics",
    "automation",
    "cms",
    "communication",
    "database-tools",
    "development",
    "media",
    "monitoring",
    "productivity",
    "search",
    "security",
    "storage",
]
CATEGORIES: tuple[Category, ...] = get_args(Category)

Generator = Literal["password", "hex", "base64", "domain", "url", "admin_email", "value", "input"]
# those that draw random bytes: secret unless the template says otherwise, and sized by `length`
RANDOM_GENERATORS: frozenset[Generator] = frozenset({"password", "hex", "base64"})
DEFAULT_LENGTHS: dict[Generator, int] = {"password": 24, "hex": 32, "base64": 32}
# bounds on `length`: passwords in characters, secrets in bytes
MIN_LENGTHS: dict[Generator, int] = {"password": 12, "hex": 16, "base64": 16}
MAX_LENGTH = 128
# what only Rivetr may say: the proxy routes this domain, so a user's own value would mislead
DERIVED_FROM_DOMAIN: frozenset[Generator] = frozenset({"domain", "url"})

# no 0/O/o, 1/l/I: a password read off a screen is typed right; no symbols, so it goes into a
# URL, a shell line or a YAML file unquoted
PASSWORD_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"
# bytes at or above this would map to the first symbols once more than to the others
_UNBIASED_BELOW = 256 - 256 % len(PASSWORD_ALPHABET)

Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=40)]
VARIABLE_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


class TemplateVariable(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A variable the compose file interpolates, and how its value is made: drawn at random
    (`password`, `hex`, `base64`), given by Rivetr (`domain`, `url`, `admin_email`), fixed
    (`value`) or asked of the user (`input`)."""

    generate: Generator
    length: int | None = None
    value: str | None = None
    description: str = ""
    secret: bool | None = None

    def __post_init__(self) -> None:
        if self.length is not None:
            if self.generate not in RANDOM_GENERATORS:
                raise ValueError(f"`length` is only for {sorted(RANDOM_GENERATORS)}")
            low = MIN_LENGTHS[self.generate]
            if not low <= self.length <= MAX_LENGTH:
                raise ValueError(f"`length` must be from {low} to {MAX_LENGTH}")
        if (self.value is not None) != (self.generate == "value"):
            raise ValueError('`value` is needed by generate = "value", and only there')

    @property
    def is_secret(self) -> bool:
        """Whether the value is sealed and shown once: as the template says, else true for
        random values."""
        return self.secret if self.secret is not None else self.generate in RANDOM_GENERATORS

    @property
    def size(self) -> int:
        """Password characters or secret bytes (0 for the others)."""
        return self.length or DEFAULT_LENGTHS.get(self.generate, 0)


class Expose(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The service and container port the resource's domain routes to."""

    service: str
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)]


class Template(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A template's metadata (`template.toml`); `slug` is the name of its directory."""

    slug: Slug
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=400)]
    category: Category
    docs: Annotated[str, msgspec.Meta(pattern=r"^https://\S+$")]
    expose: Expose
    logo: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9-]+\.svg$")] = "logo.svg"
    tags: tuple[str, ...] = ()
    variables: dict[str, TemplateVariable] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = [name for name in self.variables if not VARIABLE_NAME.match(name)]
        if bad:
            raise ValueError(f"variable names must be UPPER_SNAKE_CASE: {bad}")


class TemplateValue(msgspec.Struct, frozen=True, kw_only=True):
    """A variable's resolved value, and whether it is to be sealed and shown only once."""

    value: str
    secret: bool


def template_from_metadata(slug: str, metadata: Mapping[str, Any]) -> Template:
    """The template `slug` described by its parsed `template.toml`.

    Raises:
        InvalidCommand: The metadata has an unknown key, lacks one, or has a value of the wrong
            shape; the message names it.
    """
    if "slug" in metadata:
        raise InvalidCommand("`slug` is the template's directory, not a key", field="template")
    try:
        return msgspec.convert({**metadata, "slug": slug}, Template)
    except msgspec.ValidationError as exc:
        raise InvalidCommand(f"template {slug!r}: {exc}", field="template") from exc


def password(length: int, random_bytes: Callable[[int], bytes]) -> str:
    """`length` characters of `PASSWORD_ALPHABET`, each equally likely: a byte maps to a symbol
    only below the largest multiple of the alphabet's size, others are drawn again."""
    size = len(PASSWORD_ALPHABET)
    chars: list[str] = []
    while len(chars) < length:
        for byte in random_bytes(length - len(chars)):
            if byte < _UNBIASED_BELOW:
                chars.append(PASSWORD_ALPHABET[byte % size])
    return "".join(chars)


def resolve_variables(
    template: Template,
    *,
    random_bytes: Callable[[int], bytes],
    domain: str,
    admin_email: str,
    given: Mapping[str, str],
) -> dict[str, TemplateValue]:
    """Every variable of `template` with its value: `given` where the user set one, else made
    as the variable says.

    Args:
        template: The template being deployed.
        random_bytes: A source of secure random bytes (`secrets.token_bytes`).
        domain: The domain Rivetr gives the exposed service.
        admin_email: The deploying user's address.
        given: Values the user set, by variable name.

    Raises:
        InvalidCommand: A given name the template does not declare, a given value that is
            empty or for a variable Rivetr derives from the domain, or an `input` without one;
            the field is the variable's name.
    """
    for name, value in given.items():
        variable = template.variables.get(name)
        if variable is None:
            raise InvalidCommand(f"template {template.slug!r} has no variable {name}", field=name)
        if variable.generate in DERIVED_FROM_DOMAIN:
            raise InvalidCommand(f"{name} is set from the domain, it cannot be given", field=name)
        if not value:
            raise InvalidCommand(f"{name} must not be empty", field=name)
    resolved: dict[str, TemplateValue] = {}
    for name, variable in template.variables.items():
        value = (
            given[name]
            if name in given
            else _made(name, variable, random_bytes, domain, admin_email)
        )
        resolved[name] = TemplateValue(value=value, secret=variable.is_secret)
    return resolved


def _made(
    name: str,
    variable: TemplateVariable,
    random_bytes: Callable[[int], bytes],
    domain: str,
    admin_email: str,
) -> str:
    match variable.generate:
        case "password":
            return password(variable.size, random_bytes)
        case "hex":
            return random_bytes(variable.size).hex()
        case "base64":
            return base64.b64encode(random_bytes(variable.size)).decode("ascii")
        case "domain" | "url" if not domain:
            raise InvalidCommand(f"{name} needs the service's domain", field=name)
        case "domain":
            return domain
        case "url":
            return f"https://{domain}"
        case "admin_email":
            return admin_email
        case "value":
            return variable.value or ""
        case "input":
            what = f": {variable.description}" if variable.description else ""
            raise InvalidCommand(f"{name} must be given{what}", field=name)


def search(
    templates: Iterable[Template], text: str = "", category: str | None = None
) -> list[Template]:
    """The templates whose name, description or tags hold every word of `text` (any case), in
    `category` if one is given, ordered by name.

    Raises:
        InvalidCommand: `category` is not one of `CATEGORIES`.
    """
    if category is not None and category not in CATEGORIES:
        raise InvalidCommand(
            f"no category {category!r}; choose one of {', '.join(CATEGORIES)}", field="category"
        )
    words = text.casefold().split()
    found = [
        template
        for template in templates
        if (category is None or template.category == category)
        and all(word in _searched_text(template) for word in words)
    ]
    return sorted(found, key=lambda template: (template.name.casefold(), template.slug))


def _searched_text(template: Template) -> str:
    return "\n".join((template.name, template.description, *template.tags)).casefold()
