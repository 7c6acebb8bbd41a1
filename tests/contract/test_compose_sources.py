"""One contract for the compose reader's `Sources`, run over the in-memory twin and a real
directory: files are read by their path in the stack, and nothing outside it is ever read: no
absolute path, no `..` above the root, no file over the size bound (and on disk, no symbolic
link that resolves outside)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rivetr.adapters.compose_files import DirectorySources
from rivetr.domain.compose.bounds import MAX_FILE_BYTES
from rivetr.domain.compose.loading import load
from rivetr.domain.compose.sources import InMemorySources
from rivetr.domain.compose.where import ComposeError, Sources

FILES: dict[str, bytes] = {
    "compose.yaml": b"include: [lib/db.yaml]\nservices:\n  web: {image: w, env_file: web.env}\n",
    "web.env": b"A=1\n",
    "lib/db.yaml": b"services:\n  db: {image: postgres, env_file: ../web.env}\n",
    "big.env": b"A=" + b"x" * MAX_FILE_BYTES,
    "exact.env": b"x" * MAX_FILE_BYTES,
}

Make = Callable[[dict[str, bytes]], Sources]


def in_memory(files: dict[str, bytes]) -> Sources:
    return InMemorySources(files)


@pytest.fixture
def on_disk(tmp_path: Path) -> Make:
    def make(files: dict[str, bytes]) -> Sources:
        root = tmp_path / "stack"
        for name, data in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        return DirectorySources(root)

    return make


@pytest.fixture(params=["memory", "directory"])
def sources(request: pytest.FixtureRequest, on_disk: Make) -> Sources:
    make: Make = in_memory if request.param == "memory" else on_disk
    return make(FILES)


def test_a_file_is_read_by_its_path_in_the_stack(sources: Sources) -> None:
    assert sources.read("web.env") == b"A=1\n"
    assert sources.read("lib/../web.env") == b"A=1\n"
    assert sources.read("./lib/db.yaml") == FILES["lib/db.yaml"]
    assert sources.read("exact.env") == FILES["exact.env"]


def test_a_missing_file_or_a_directory_is_not_found(sources: Sources) -> None:
    for missing in ("nope.env", "lib/nope.yaml", "lib"):
        with pytest.raises(FileNotFoundError):
            sources.read(missing)


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../outside.env", "lib/../../x", "~/.ssh/id_rsa", "C:\\x", ".."]
)
def test_nothing_outside_the_stack_is_read(sources: Sources, path: str) -> None:
    with pytest.raises(ComposeError, match=r"outside the stack|leaves the stack"):
        sources.read(path)


def test_a_file_over_the_bound_is_refused(sources: Sources) -> None:
    with pytest.raises(ComposeError, match=f"may hold {MAX_FILE_BYTES:,}"):
        sources.read("big.env")


def test_the_reader_reads_a_stack_alike_through_either(sources: Sources) -> None:
    services = load(sources, "compose.yaml").data["services"]
    assert services == {
        "web": {"image": "w", "environment": {"A": "1"}},
        "db": {"image": "postgres", "environment": {"A": "1"}},
    }


def test_a_symbolic_link_out_of_the_stack_is_refused(tmp_path: Path, on_disk: Make) -> None:
    secret = tmp_path / "secret.env"
    secret.write_text("TOKEN=host\n")
    sources = on_disk({"compose.yaml": b"services: {}\n"})
    root = tmp_path / "stack"
    (root / "leak.env").symlink_to(secret)
    (root / "inside.env").symlink_to(root / "compose.yaml")
    (root / "loop.env").symlink_to(root / "loop.env")
    with pytest.raises(ComposeError, match="outside the stack through a symbolic link"):
        sources.read("leak.env")
    assert sources.read("inside.env") == b"services: {}\n"
    with pytest.raises(ComposeError, match="cannot be read"):
        sources.read("loop.env")
