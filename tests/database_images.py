"""Database server images for tests, built here from Debian's packages (no registry is reachable):
a debootstrap base made once per machine, then one image per server from `tests/images/`, each
build's time printed. Podman gets Docker's images (`docker save | podman load`, through both
engines' APIs) only when its copy is missing or differs. Each name can be overridden
(RIVETR_TEST_IMAGE_POSTGRES, ..._MARIADB, ..._MYSQL, ..._REDIS) so a machine that has the
official images runs the same tests on them.

Run it alone to build (or find) every image:  python -m tests.database_images [podman]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker import DockerClient

from rivetr.adapters.runtime.detect import PODMAN_SOCKET

IMAGES_DIR = Path(__file__).resolve().parent / "images"
BASE_IMAGE = "rivetr-test/debian:bookworm"


@dataclass(frozen=True)
class TestImage:
    """One server image: the directory it is built from and the tag it gets."""

    directory: str
    tag: str

    @property
    def override(self) -> str:
        return f"RIVETR_TEST_IMAGE_{self.directory.upper()}"


POSTGRES = TestImage("postgres", "rivetr-test/postgres:15")
MARIADB = TestImage("mariadb", "rivetr-test/mariadb:10.11")
REDIS = TestImage("redis", "rivetr-test/redis:7")
BUILT = (POSTGRES, MARIADB, REDIS)
# the registry Rivetr runs on a swarm's manager (`hosted_registry_image`), not a database: built
# by the swarm tests alone, as they need it
REGISTRY = TestImage("registry", "rivetr-test/registry:2.8")


def image_for(kind: str) -> str:
    """The image a test runs for a database kind: the override from the environment (e.g.
    RIVETR_TEST_IMAGE_MYSQL=mysql:8.4), else the one built here. MySQL has no Debian package:
    without an override its commands run against the MariaDB image (where the tools agree)."""
    built = {"postgres": POSTGRES, "mariadb": MARIADB, "mysql": MARIADB, "redis": REDIS}[kind]
    return os.environ.get(f"RIVETR_TEST_IMAGE_{kind.upper()}") or built.tag


def _exists(client: DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


Say = Callable[[str], None]


def _print(line: str) -> None:
    print(f"[database images] {line}", file=sys.stderr, flush=True)


def ensure_base(client: DockerClient, say: Say = _print) -> None:
    """`BASE_IMAGE`, made with debootstrap and `docker import` when the engine lacks it."""
    if _exists(client, BASE_IMAGE):
        return
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rivetr-debootstrap-") as scratch:
        root = Path(scratch) / "root"
        subprocess.run(
            [debootstrap, "--variant=minbase", "bookworm", str(root)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        archive = Path(scratch) / "root.tar"
        subprocess.run(["tar", "-C", str(root), "-cf", str(archive), "."], check=True)
        repository, tag = BASE_IMAGE.split(":")
        client.api.import_image(src=str(archive), repository=repository, tag=tag)
    say(f"built {BASE_IMAGE} (debootstrap + import) in {time.monotonic() - started:.1f} s")


def ensure_image(client: DockerClient, image: TestImage, say: Say = _print) -> str:
    """`image` built (a rerun is fast: the engine caches every layer); its tag.

    An overridden name (the official image, say) is used as it is and never built."""
    overridden = os.environ.get(image.override)
    if overridden:
        return overridden
    ensure_base(client, say)
    started = time.monotonic()
    output: list[str] = []
    for chunk in client.api.build(
        path=str(IMAGES_DIR / image.directory),
        tag=image.tag,
        buildargs={"BASE": BASE_IMAGE},
        rm=True,
        forcerm=True,
        decode=True,
    ):
        if "error" in chunk:
            tail = "".join(output[-30:])
            raise RuntimeError(f"building {image.tag} failed: {chunk['error']}\n{tail}")
        output.append(str(chunk.get("stream", "")))
    say(f"built {image.tag} in {time.monotonic() - started:.1f} s")
    return image.tag


def copy_image(source: DockerClient, target: DockerClient, tag: str, say: Say = _print) -> None:
    """`tag` made in `target` the same image (same id) as in `source`, streamed across when it
    is missing there or differs (a rebuild); what a later run finds in place costs nothing."""
    wanted = source.images.get(tag).id
    try:
        if target.images.get(tag).id == wanted:
            say(f"{tag} already in Podman")
            return
    except docker.errors.ImageNotFound:
        pass
    started = time.monotonic()
    answers = target.api.load_image(source.api.get_image(tag, chunk_size=1024 * 1024))
    for answer in answers:
        if "error" in answer:
            raise RuntimeError(f"loading {tag} failed: {answer['error']}")
    took = time.monotonic() - started
    say(f"copied {tag} into Podman (docker save | podman load) in {took:.1f} s")


def ensure_image_in(
    target: DockerClient, source: DockerClient, image: TestImage, say: Say = _print
) -> str:
    """`image` built in `source` (Docker) and copied into `target` (Podman): building it there
    again would repeat every apt-get, a copy of the cached layers takes seconds; its tag."""
    tag = ensure_image(source, image, say)
    if tag == image.tag:  # an overridden name is the target's own to find
        copy_image(source, target, tag, say)
    return tag


if __name__ == "__main__":
    engine = docker.from_env()
    podman = sys.argv[1:] == ["podman"]
    second = DockerClient(base_url=PODMAN_SOCKET) if podman else None
    for each in BUILT:
        if second is None:
            ensure_image(engine, each)
        else:
            ensure_image_in(second, engine, each)
