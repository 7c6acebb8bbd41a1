"""Compose files loaded for the model's tests without the reader: PyYAML's safe loading, each
node placed on its line, and `${NAME:-default}` read as its default (no variables, no .env)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from rivetr.domain.compose.where import DataPath, Location, Where

_DEFAULTED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}")


def load(text: str, file: str = "compose.yaml") -> tuple[dict[str, Any], Where]:
    """The data of `text` and where each of its nodes was written."""
    where = Where()
    _place(yaml.compose(text, Loader=yaml.SafeLoader), (), file, where)
    return yaml.safe_load(text) or {}, where


def load_file(path: Path, *, defaults: bool = False) -> tuple[dict[str, Any], Where]:
    text = path.read_text()
    if defaults:
        text = _DEFAULTED.sub(lambda found: found.group(1), text)
    return load(text, path.name)


def compose_vectors(vectors_dir: Path) -> Path:
    folder = vectors_dir / "compose"
    if not folder.is_dir():
        pytest.skip(f"compose vectors not found at {folder} (set RIVETR_VECTORS)")
    return folder


def _place(node: yaml.Node | None, path: DataPath, file: str, where: Where) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            where.add(child, Location(file, key.start_mark.line + 1))
            _place(value, child, file, where)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            where.add((*path, index), Location(file, item.start_mark.line + 1))
            _place(item, (*path, index), file, where)
