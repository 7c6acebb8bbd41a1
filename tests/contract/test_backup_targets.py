"""One contract for the backup target port, run over the in-memory twin, a local directory and
S3 (a real `moto_server` on loopback, checked independently with boto3): objects stream in and
out with bounded memory, appear only once complete, and failures say why."""

from __future__ import annotations

import hashlib
import io
import random
import socket
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from rivetr.adapters.backup_targets.base import (
    BackupTarget,
    ObjectExists,
    ObjectMissing,
    TargetRefused,
    TargetUnavailable,
)
from rivetr.adapters.backup_targets.local import LocalDirectoryTarget
from rivetr.adapters.backup_targets.memory import InMemoryTarget
from rivetr.adapters.backup_targets.s3 import PART_SIZE, READ_CHUNK, S3Target
from tests.disks import small_tmpfs
from tests.net import free_port
from tests.s3server import S3Server, moto_s3_server

pytestmark = pytest.mark.anyio

MiB = 1 << 20
CHUNK = 256 * 1024


async def generated(
    size: int, seed: int = 1, fail_after: int | None = None
) -> AsyncIterator[bytes]:
    """`size` pseudo-random bytes made on the fly, chunk by chunk; optionally the source dies
    after `fail_after` bytes, as a dump whose database stopped would."""
    rng = random.Random(seed)
    sent = 0
    while sent < size:
        if fail_after is not None and sent >= fail_after:
            raise RuntimeError("the dump died")
        chunk = rng.randbytes(min(CHUNK, size - sent))
        sent += len(chunk)
        yield chunk


def expected_sha256(size: int, seed: int = 1) -> str:
    rng, digest, left = random.Random(seed), hashlib.sha256(), size
    while left:
        digest.update(rng.randbytes(min(CHUNK, left)))
        left -= min(CHUNK, left)
    return digest.hexdigest()


async def once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def read(target: BackupTarget, key: str) -> bytes:
    return b"".join([chunk async for chunk in target.get(key)])


def orphan_sidecars(keys: list[str]) -> list[str]:
    """Sidecars whose object is not there: what a failed upload must not leave behind."""
    return [key for key in keys if key.endswith(".sha256") and key[: -len(".sha256")] not in keys]


@dataclass
class Place:
    """A target under test, and how to see what an unfinished upload left behind."""

    target: Any
    leftovers: Callable[[], list[str]]
    # The most one upload may hold in memory at once.
    buffer_bound: int


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with moto_s3_server() as server:
        yield server


def s3_place(server: S3Server) -> Place:
    bucket = f"rivetr-{uuid.uuid4().hex[:12]}"
    s3: Any = server.boto3()
    s3.create_bucket(Bucket=bucket)
    target = S3Target(
        endpoint=server.endpoint,
        bucket=bucket,
        access_key=server.access_key,
        secret_key=server.secret_key,
        prefix="backups",
    )

    def leftovers() -> list[str]:
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        return [upload["Key"] for upload in uploads] + orphan_sidecars(keys)

    return Place(target, leftovers, buffer_bound=PART_SIZE)


@pytest.fixture(params=["memory", "local", pytest.param("s3", marks=pytest.mark.integration)])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    if request.param == "memory":
        return Place(InMemoryTarget(), lambda: [], buffer_bound=CHUNK)
    if request.param == "local":
        root = tmp_path / "backups"
        root.mkdir()

        def leftovers() -> list[str]:
            files = [
                path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()
            ]
            return [name for name in files if name.endswith(".partial")] + orphan_sidecars(files)

        return Place(LocalDirectoryTarget(root), leftovers, buffer_bound=CHUNK)
    return s3_place(request.getfixturevalue("s3_server"))


async def test_a_large_object_streams_in_and_out_with_bounded_memory(place: Place) -> None:
    size = 40 * MiB + 12345
    stored = await place.target.put("db/big.dump", generated(size))

    assert (stored.key, stored.size, stored.sha256) == ("db/big.dump", size, expected_sha256(size))
    assert place.target.peak_buffered_bytes <= place.buffer_bound < size
    assert await place.target.stat("db/big.dump") == stored
    digest, read_size = hashlib.sha256(), 0
    async for chunk in place.target.get("db/big.dump"):
        digest.update(chunk)
        read_size += len(chunk)
    assert (read_size, digest.hexdigest()) == (size, stored.sha256)


async def test_an_upload_whose_source_fails_leaves_no_object(place: Place) -> None:
    with pytest.raises(RuntimeError, match="the dump died"):
        await place.target.put("db/broken.dump", generated(20 * MiB, fail_after=18 * MiB))

    assert await place.target.list() == []
    assert await place.target.stat("db/broken.dump") is None
    assert place.leftovers() == []


async def test_a_cancelled_upload_leaves_no_object(place: Place) -> None:
    async def slow_source() -> AsyncIterator[bytes]:
        async for chunk in generated(12 * MiB):
            yield chunk
        await anyio.sleep_forever()

    with anyio.move_on_after(0.5) as scope:
        await place.target.put("db/cancelled.dump", slow_source())

    assert scope.cancelled_caught
    assert await place.target.list() == []
    assert place.leftovers() == []


async def test_a_stored_backup_is_never_overwritten(place: Place) -> None:
    await place.target.put("db/x.dump", once(b"the good one"))
    with pytest.raises(ObjectExists, match="already exists"):
        await place.target.put("db/x.dump", generated(MiB))

    assert await read(place.target, "db/x.dump") == b"the good one"
    stat = await place.target.stat("db/x.dump")
    assert stat is not None
    assert stat.sha256 == hashlib.sha256(b"the good one").hexdigest()


async def test_a_key_whose_upload_failed_can_be_written_again(place: Place) -> None:
    with pytest.raises(RuntimeError):
        await place.target.put("db/retry.dump", generated(MiB, fail_after=CHUNK))
    stored = await place.target.put("db/retry.dump", once(b"second try"))
    assert await read(place.target, "db/retry.dump") == b"second try"
    assert stored.sha256 == hashlib.sha256(b"second try").hexdigest()


async def test_list_stat_and_delete(place: Place) -> None:
    for key, data in (("a/2", b"a/2"), ("a/1", b"a/1 data"), ("b/1", b"b/1")):
        await place.target.put(key, once(data))

    listed = await place.target.list("a/")
    assert [(info.key, info.size) for info in listed] == [("a/1", 8), ("a/2", 3)]
    assert [info.key for info in await place.target.list()] == ["a/1", "a/2", "b/1"]
    stat = await place.target.stat("a/1")
    assert stat is not None
    assert (stat.size, stat.sha256) == (8, hashlib.sha256(b"a/1 data").hexdigest())

    await place.target.delete("a/1")
    await place.target.delete("a/1")
    await place.target.delete("never/there")
    assert [info.key for info in await place.target.list()] == ["a/2", "b/1"]
    assert await place.target.stat("a/1") is None
    with pytest.raises(ObjectMissing):
        await read(place.target, "a/1")


async def test_an_empty_object_round_trips(place: Place) -> None:
    stored = await place.target.put("empty", once(b""))
    assert (stored.size, await read(place.target, "empty")) == (0, b"")


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "../up", "a/./b", "x.sha256", "y.partial"])
async def test_a_key_that_cannot_name_an_object_is_refused(place: Place, key: str) -> None:
    with pytest.raises(ValueError, match=r"cannot name|keeps for itself"):
        await place.target.put(key, once(b"x"))


@pytest.fixture
def full_place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A target with 1 MiB of room: the twin given a capacity, or a real 1 MiB tmpfs."""
    if request.param == "memory":
        yield InMemoryTarget(capacity=MiB)
        return
    with small_tmpfs(tmp_path / "tiny", "1m") as root:
        yield LocalDirectoryTarget(root)


@pytest.mark.parametrize("full_place", ["memory", "local"], indirect=True)
async def test_a_full_disk_refuses_the_upload_and_keeps_nothing(full_place: Any) -> None:
    await full_place.put("small", once(b"fits"))
    with pytest.raises(TargetRefused, match="no space left"):
        await full_place.put("db/big.dump", generated(3 * MiB))

    assert [info.key for info in await full_place.list()] == ["small"]
    if isinstance(full_place, LocalDirectoryTarget):
        assert list(full_place.path.rglob("*.partial")) == []


async def test_a_local_directory_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    target = LocalDirectoryTarget(tmp_path / "unmounted")
    with pytest.raises(TargetRefused, match="does not exist"):
        await target.put("x", once(b"x"))
    assert not (tmp_path / "unmounted").exists()


def s3_target(server: S3Server, **overrides: Any) -> S3Target:
    settings: dict[str, Any] = {
        "endpoint": server.endpoint,
        "bucket": "rivetr-settings",
        "access_key": server.access_key,
        "secret_key": server.secret_key,
        **overrides,
    }
    return S3Target(**settings)


@pytest.fixture
def settings_bucket(s3_server: S3Server) -> S3Server:
    s3: Any = s3_server.boto3()
    if "rivetr-settings" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="rivetr-settings")
    return s3_server


@pytest.mark.integration
@pytest.mark.parametrize(
    ("overrides", "cause"),
    [
        ({"secret_key": "not-the-secret"}, "secret key does not match"),
        ({"access_key": "AKIANOTAKEY00000000", "secret_key": "x"}, "does not know the access"),
        ({"bucket": "no-such-bucket"}, "'no-such-bucket' .* does not exist"),
    ],
)
async def test_wrong_s3_settings_are_refused_with_their_cause(
    settings_bucket: S3Server, overrides: dict[str, str], cause: str
) -> None:
    target = s3_target(settings_bucket, **overrides)
    with pytest.raises(TargetRefused, match=cause):
        await target.put("x", generated(12 * MiB))
    with pytest.raises(TargetRefused, match=cause):
        await target.list()
    with pytest.raises(TargetRefused, match=cause):
        await target.stat("x")
    assert await s3_target(settings_bucket).list() == []


@pytest.mark.integration
async def test_an_s3_server_that_does_not_answer_is_unavailable() -> None:
    target = S3Target(
        endpoint=f"http://127.0.0.1:{free_port()}",
        bucket="bucket-b",
        access_key="a",
        secret_key="s",
    )
    with pytest.raises(TargetUnavailable, match="cannot be reached"):
        await target.list()


@pytest.mark.integration
async def test_virtual_host_style_names_the_bucket_in_the_host(
    settings_bucket: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RFC 6761 has every name under `localhost` resolve to loopback; this machine's resolver
    # does not, so it is taught to. The request, its Host header and its signature are real.
    real_getaddrinfo = socket.getaddrinfo

    def loopback_subdomains(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_subdomains)
    port = settings_bucket.endpoint.rsplit(":", 1)[1]
    target = s3_target(settings_bucket, endpoint=f"http://localhost:{port}", path_style=False)
    trace = io.StringIO()
    target.client().trace_on(trace)

    await target.put("vhost/one", once(b"by host name"))

    assert f"Host: rivetr-settings.localhost:{port}" in trace.getvalue()
    assert "PUT /vhost/one HTTP/1.1" in trace.getvalue()
    assert await read(s3_target(settings_bucket), "vhost/one") == b"by host name"
    await target.delete("vhost/one")


@pytest.mark.integration
async def test_s3_parts_are_one_size_but_the_last_as_r2_requires(s3_server: S3Server) -> None:
    place = s3_place(s3_server)
    await place.target.put("db/parts.dump", generated(3 * PART_SIZE + 12345))

    s3: Any = s3_server.boto3()
    head = {"Bucket": place.target.bucket, "Key": "backups/db/parts.dump"}
    count = s3.head_object(**head, PartNumber=1)["PartsCount"]
    sizes = [s3.head_object(**head, PartNumber=n)["ContentLength"] for n in range(1, count + 1)]
    assert sizes == [PART_SIZE, PART_SIZE, PART_SIZE, 12345]


@pytest.mark.integration
async def test_an_s3_upload_of_many_parts_holds_one_part_at_a_time(s3_server: S3Server) -> None:
    # tracemalloc sees every Python allocation, minio's and urllib3's included: an upload that
    # kept a sent part, or grew each part by copies, would hold two parts at its peak.
    target = s3_place(s3_server).target
    await target.list()  # the client made and connected before measuring
    size = 8 * PART_SIZE + 12345
    tracemalloc.start()
    try:
        stored = await target.put("db/many.dump", generated(size))
        upload_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        async for chunk in target.get("db/many.dump"):
            digest.update(chunk)
        download_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert (stored.size, digest.hexdigest()) == (size, expected_sha256(size))
    assert upload_peak < 1.5 * PART_SIZE
    assert download_peak < 4 * READ_CHUNK < PART_SIZE
