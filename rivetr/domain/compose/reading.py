"""One load's reading of a stack's files: each read counted against the bounds, each compose file
parsed and interpolated once per environment, `version` dropped, paths rebased onto the project
directory; `model` adds a file's includes and resolves its `extends`. The warnings of the whole
load are gathered here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar, cast

from rivetr.domain.compose.bounds import MAX_READS, MAX_TOTAL_NODES
from rivetr.domain.compose.dotenv import Dotenv, DotenvError, parse_dotenv
from rivetr.domain.compose.extends import apply_extends
from rivetr.domain.compose.include import apply_includes
from rivetr.domain.compose.interpolation import Lookup, interpolate
from rivetr.domain.compose.nodes import Map, clone, refusal
from rivetr.domain.compose.paths import Rebase, join
from rivetr.domain.compose.where import ComposeError, DataPath, Location, Sources
from rivetr.domain.compose.yaml_source import parse_yaml

Environment = Mapping[str, str]
T = TypeVar("T")


class Reader:
    """Reads the files of one stack for one load; `project` is the entry file's directory."""

    def __init__(self, sources: Sources, project: str) -> None:
        self.sources = sources
        self.project = project
        self.reads = 0
        self.nodes = 0
        self.warnings: list[str] = []
        self._unset: dict[str, Location | None] = {}
        self._files: dict[tuple[str, str, int], Map] = {}
        self._environments: list[Environment] = []  # keeps each alive: its id is a cache key

    def read(self, path: str) -> bytes:
        """A file of the stack (`path` from its root).

        Raises:
            FileNotFoundError: it is not there.
            ComposeError: it is outside the stack or too large, or the load read too many.
        """
        self.reads += 1
        if self.reads > MAX_READS:
            raise ComposeError(f"the stack's files were read over {MAX_READS} times")
        return self.sources.read(path)

    def charge(self, nodes: int) -> None:
        self.nodes += nodes
        if self.nodes > MAX_TOTAL_NODES:
            raise ComposeError(
                f"the stack's files hold over {MAX_TOTAL_NODES:,} nodes once extended and included"
            )

    def warn_unset(self, name: str, at: Location | None) -> None:
        if name not in self._unset:
            self._unset[name] = at
            place = f"{at}: " if at is not None else ""
            self.warnings.append(f'{place}the variable "{name}" is not set: it is read as ""')

    def environment(
        self,
        paths: Sequence[str],
        parent: Environment,
        *,
        required: bool,
        key: DataPath = (),
        at: Location | None = None,
    ) -> Environment:
        """`parent` with the variables of the dotenv files `paths` under it: `parent` wins, as
        the shell's environment does over `.env`, and a later file over an earlier one."""
        found: dict[str, str] = {}
        for path in paths:
            content = self.named(path, ("env file", path), required=required, key=key, at=at)
            if content is None:
                continue
            parsed = self.dotenv(content, path, lambda name: parent.get(name, found.get(name)))
            found.update(parsed.values)
        if not found:
            return parent
        merged = {**found, **parent}
        self._environments.append(merged)
        return merged

    def named(
        self,
        path: str,
        shown: tuple[str, str],
        *,
        required: bool,
        key: DataPath,
        at: Location | None,
    ) -> bytes | None:
        """A file that `key` names, shown as ("env file", the path as written); None when it is
        not there and not required.

        Raises:
            ComposeError: it is required and not there, outside the stack or too large; named
                with `key` and its line.
        """
        what, written = shown
        try:
            return self.read(path)
        except FileNotFoundError:
            if required:
                raise refusal(f"{what} {written} not found", key, at) from None
            return None
        except ComposeError as exc:
            raise refusal(f"{what} {exc.problem}", key, at) from exc

    def dotenv(self, content: bytes, path: str, lookup: Lookup, *, raw: bool = False) -> Dotenv:
        """A dotenv file of the stack, parsed; the variables it reads unset are warned of."""
        try:
            parsed = parse_dotenv(text(content, path), lookup, raw=raw)
        except DotenvError as exc:
            raise refusal(str(exc), (), Location(path, exc.line)) from exc
        for name, line in parsed.unset:
            self.warn_unset(name, Location(path, line))
        return parsed

    def file(self, path: str, base: str, env: Environment) -> Map:
        """A compose file parsed, interpolated in `env` and its paths (relative to `base`)
        rebased; shared between uses: callers copy what they change."""
        cached = self._files.get((path, base, id(env)))
        if cached is not None:
            return cached
        try:
            content = self.read(path)
        except FileNotFoundError:
            raise ComposeError(f"{path} is not in the stack") from None
        root, nodes = parse_yaml(content, path)
        self.charge(nodes)
        if "version" in root:
            at = root.at.get("version") or Location(path, 1)
            self.warnings.append(f'{at}: "version" is obsolete: it is ignored')
            root.drop("version")
        for name, used_at in interpolate(root, env.get):
            self.warn_unset(name, used_at)
        Rebase(base, self.project).apply(root)
        self._environments.append(env)
        self._files[(path, base, id(env))] = root
        return root

    def model(self, path: str, base: str, env: Environment, chain: tuple[str, ...]) -> Map:
        """A compose file with its includes imported and its `extends` resolved; `chain` is
        the files that include it, the first the entry."""
        root = self.copy(self.file(path, base, env))
        apply_includes(self, root, env, chain)
        apply_extends(self, root, path, env)
        return root

    def copy(self, value: T) -> T:
        copied, nodes = clone(value)
        self.charge(nodes)
        return cast(T, copied)

    def path(self, written: str) -> str:
        """A path the files wrote (rebased onto the project directory), from the root."""
        return join(self.project, written)


def text(content: bytes, path: str) -> str:
    try:
        return content.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ComposeError(f"{path} is not UTF-8 text") from exc
