"""The swarm lab's worker image: Debian's docker.io on the debootstrap base, tagged with a hash of
`tests/images/swarm-worker/` so an edited Dockerfile or entrypoint makes a new tag and an
unchanged one is never rebuilt."""

from __future__ import annotations

import hashlib
import sys

import docker.errors
from docker import DockerClient

from tests.database_images import IMAGES_DIR, Say, TestImage, ensure_image

WORKER_DIRECTORY = "swarm-worker"
WORKER_REPOSITORY = "rivetr-test/swarm-worker"


def print_line(line: str) -> None:
    """The lab's default `say`: one line on stderr, seen by pytest -s and in CI logs."""
    print(f"[swarm lab] {line}", file=sys.stderr, flush=True)


def worker_image_tag() -> str:
    """`rivetr-test/swarm-worker:<12 hex of the sha256 of the directory's names and bytes>`."""
    digest = hashlib.sha256()
    for path in sorted((IMAGES_DIR / WORKER_DIRECTORY).iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{WORKER_REPOSITORY}:{digest.hexdigest()[:12]}"


def ensure_worker_image(client: DockerClient, say: Say = print_line) -> str:
    """The worker image's tag, built (base image first, when missing) only if the engine lacks
    that tag; the build time is said. A first build takes ~15 s after the base exists."""
    tag = worker_image_tag()
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        ensure_image(client, TestImage(WORKER_DIRECTORY, tag), say)
    return tag
