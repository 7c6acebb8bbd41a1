"""A backup target in any S3-compatible storage (AWS, R2, B2, MinIO) through the `minio`
client: SigV4, path or virtual-host style, and uploads of unknown length as multipart uploads
that become an object only when completed (and are aborted on any failure or cancellation)."""

from __future__ import annotations

import builtins
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

from rivetr.adapters.backup_targets.base import (
    SHA256_SUFFIX,
    Digest,
    ObjectExists,
    ObjectInfo,
    ObjectMissing,
    StoredObject,
    TargetRefused,
    TargetUnavailable,
    check_key,
    is_own_key,
)

if TYPE_CHECKING:
    from minio import Minio

# S3 wants every part but the last to be at least 5 MiB, and at most 10,000 parts; R2 also
# wants every part but the last to be the same size, so the size is fixed for an upload. An
# upload holds one part, so the part size is its memory, and 5 MiB, the least S3 allows, is what
# keeps a backup within the 10 MB above idle that issue 18 allows even the first time, when the
# S3 client is imported (~5 MB; 8 MiB parts made that +11.5 MB). It reaches ~48 GiB (8 MiB parts
# would reach ~78 GiB). `S3Target` takes a larger `part_size` for larger dumps; no target
# setting offers one yet.
MIN_PART_SIZE = 5 << 20
PART_SIZE = MIN_PART_SIZE
MAX_PARTS = 10_000
# What a download reads at once, as an exec stream does: http.client reads it into a buffer
# and copies it out, so a reader holds about twice this.
READ_CHUNK = 256 << 10
T = TypeVar("T")
# What S3 accepts as a bucket name (AWS's rules, which R2, B2 and MinIO share).
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

_REFUSALS = {
    "InvalidAccessKeyId": "S3 does not know the access key: check the target's access key",
    "SignatureDoesNotMatch": "S3 refused the signature: the secret key does not match the "
    "access key",
    "AccessDenied": "S3 denied access: the key lacks permission on the bucket",
    "RequestTimeTooSkewed": "S3 refused the request: this machine's clock is too far off",
    "InvalidBucketName": "S3 refused the bucket's name as invalid",
}


class S3Target:
    """Objects in `bucket` under `prefix`, reached at `endpoint` (`https://host[:port]`)."""

    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        prefix: str = "",
        path_style: bool = True,
        part_size: int = PART_SIZE,
    ) -> None:
        url = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ValueError(f"{endpoint!r} is not an S3 endpoint URL (https://host[:port])")
        if part_size < MIN_PART_SIZE:
            raise ValueError("S3 parts are at least 5 MiB")
        if not BUCKET_NAME.fullmatch(bucket):
            raise ValueError(f"{bucket!r} is not an S3 bucket name (3-63 of a-z, 0-9, '.', '-')")
        self._host, self._secure = url.netloc, url.scheme == "https"
        self.bucket, self.region, self.path_style = bucket, region, path_style
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._credentials = (access_key, secret_key)
        self.part_bytes = part_size
        self._minio: Minio | None = None
        self.peak_buffered_bytes = 0

    @property
    def description(self) -> str:
        scheme = "https" if self._secure else "http"
        return f"S3 bucket {self.bucket!r} at {scheme}://{self._host}"

    def client(self) -> Minio:
        """The S3 client, made on first use: `minio` is imported only by instances that store
        backups in S3, so others never pay its memory."""
        if self._minio is None:
            import urllib3
            from minio import Minio

            http = urllib3.PoolManager(
                timeout=urllib3.Timeout(connect=10, read=120),
                retries=urllib3.Retry(
                    total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
                ),
            )
            access_key, secret_key = self._credentials
            self._minio = Minio(
                self._host,
                access_key=access_key,
                secret_key=secret_key,
                secure=self._secure,
                region=self.region,
                http_client=http,
            )
            if self.path_style:
                self._minio.disable_virtual_style_endpoint()  # type: ignore[no-untyped-call]
            else:
                self._minio.enable_virtual_style_endpoint()  # type: ignore[no-untyped-call]
        return self._minio

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def _call(self, call: Callable[[], T]) -> T:
        """Run one blocking S3 call in a worker thread, its errors translated here only."""
        from minio.error import MinioException, S3Error
        from urllib3.exceptions import HTTPError

        try:
            return await anyio.to_thread.run_sync(call)
        except S3Error as exc:
            raise self._refusal(exc.code or "", exc.message or "", exc.object_name) from exc
        except (MinioException, HTTPError, OSError) as exc:
            raise TargetUnavailable(f"{self.description} cannot be reached: {exc}") from exc

    def _refusal(self, code: str, message: str, name: str | None) -> TargetRefused:
        if code in ("NoSuchKey", "ResourceNotFound", "NoSuchObject"):
            return ObjectMissing(f"no backup object {name!r} in {self.description}")
        if code == "NoSuchBucket":
            return TargetRefused(f"{self.description} does not exist")
        cause = _REFUSALS.get(code, f"S3 refused the request ({code}: {message})")
        return TargetRefused(f"{cause} ({self.description})")

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredObject:
        upload, digest = _Upload(self, self._name(key)), Digest()
        if await self._find(upload.name) is not None:
            raise ObjectExists(f"a backup object {key!r} already exists in {self.description}")
        try:
            async for chunk in chunks:
                digest.update(chunk)
                await upload.feed(chunk)
            stored = digest.stored(key)
            # The sidecar before the object: an object in the bucket always has its sha256.
            line = f"{stored.sha256}  {key.rsplit('/', 1)[-1]}\n".encode()
            await self._put_bytes(upload.name + SHA256_SUFFIX, line)
            upload.sidecar_written = True
            await upload.finish()
            return stored
        except BaseException:
            with anyio.CancelScope(shield=True):
                await upload.discard()
            raise

    async def _put_bytes(self, name: str, data: bytes | memoryview) -> None:
        client = self.client()
        headers: dict[str, str | list[str] | tuple[str]] = {
            "Content-Type": "application/octet-stream"
        }
        body = cast(bytes, data)  # minio hashes and sends any bytes-like body as it is
        await self._call(lambda: client._put_object(self.bucket, name, body, headers))

    def get(self, key: str) -> AsyncIterator[bytes]:
        return self._stream(self._name(key))

    async def _stream(self, name: str) -> AsyncIterator[bytes]:
        client = self.client()
        response: Any = await self._call(lambda: client.get_object(self.bucket, name))
        try:
            while chunk := await self._call(lambda: response.read(READ_CHUNK)):
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def _find(self, name: str) -> Any:
        """The listing's entry for the object `name`, or None. A listing, not a HEAD: a HEAD's
        error has no body, so S3 could not say which credential it refused."""
        client = self.client()

        def first() -> Any:
            listing = client.list_objects(self.bucket, prefix=name, recursive=True)
            # S3 lists in byte order, so `name` itself comes before any longer key it begins.
            return next(iter(listing), None)

        found = await self._call(first)
        return found if found is not None and found.object_name == name else None

    async def stat(self, key: str) -> StoredObject | None:
        name = self._name(key)
        found = await self._find(name)
        if found is None:
            return None
        sha256: str | None = None
        try:
            line = b"".join([chunk async for chunk in self._stream(name + SHA256_SUFFIX)])
            sha256 = line.split()[0].decode() if line.split() else None
        except ObjectMissing:
            pass
        return StoredObject(key, found.size or 0, sha256)

    async def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        client = self.client()

        def listing() -> builtins.list[Any]:
            return builtins.list(
                client.list_objects(self.bucket, prefix=self.prefix + prefix, recursive=True)
            )

        found = []
        for item in await self._call(listing):
            key = item.object_name[len(self.prefix) :]
            if not is_own_key(key) and item.last_modified is not None:
                found.append(ObjectInfo(key, item.size or 0, item.last_modified))
        return sorted(found, key=lambda info: info.key)

    async def delete(self, key: str) -> None:
        client, name = self.client(), self._name(key)
        await self._call(lambda: client.remove_object(self.bucket, name))
        await self._call(lambda: client.remove_object(self.bucket, name + SHA256_SUFFIX))


class _Upload:
    """One object on its way into S3 through one part buffer, allocated once at the part size
    and filled in place: each chunk is copied into it once, and a full part is sent straight
    from it (minio hashes it and urllib3 writes it to the socket as it is) and then refilled.
    So an upload holds one part and the chunk being copied, never a part's growing copies or a
    freed part beside the next one. A part is sent only when more data shows it is not the last,
    and a multipart upload is started only for an object larger than one part."""

    def __init__(self, target: S3Target, name: str) -> None:
        self.target, self.name = target, name
        self.client = target.client()
        self.part: bytearray | None = None  # allocated on the first byte, then reused
        self.filled = 0
        self.etags: list[str] = []
        self.upload_id: str | None = None
        self.sidecar_written = False

    @property
    def size(self) -> int:
        return self.target.part_bytes

    async def feed(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            if self.part is None:
                self.part = bytearray(self.size)
            elif self.filled == self.size:
                await self._send()
            taken = min(len(view), self.size - self.filled)
            # A slice assignment of equal length: a copy into place, never a resize.
            self.part[self.filled : self.filled + taken] = view[:taken]
            self.filled += taken
            view = view[taken:]
            self.target.peak_buffered_bytes = max(self.target.peak_buffered_bytes, self.filled)

    def _filled(self) -> memoryview:
        """The part's bytes so far, without a copy (empty before the first byte)."""
        return memoryview(self.part or b"")[: self.filled]

    async def _send(self) -> None:
        bucket, name, client = self.target.bucket, self.name, self.client
        if self.upload_id is None:
            self.upload_id = await self.target._call(
                lambda: client._create_multipart_upload(bucket, name, {})
            )
        number, upload_id = len(self.etags) + 1, self.upload_id
        if number > MAX_PARTS:
            raise TargetRefused(
                f"{name} needs more than {MAX_PARTS} parts: give the target a larger part size"
            )
        # The worker thread is waited for even on cancellation, so the part is never refilled
        # while it is still being sent.
        data = cast(bytes, self._filled())  # minio hashes and sends any bytes-like body as it is
        etag = await self.target._call(
            lambda: client._upload_part(bucket, name, data, None, upload_id, number)
        )
        self.etags.append(etag)
        self.filled = 0

    async def finish(self) -> None:
        from minio.datatypes import Part

        if self.upload_id is None:
            await self.target._put_bytes(self.name, self._filled())
            return
        if self.filled:
            await self._send()
        self.part = None
        bucket, name, client, upload_id = self.target.bucket, self.name, self.client, self.upload_id
        parts = [Part(number, etag) for number, etag in enumerate(self.etags, start=1)]
        await self.target._call(
            lambda: client._complete_multipart_upload(bucket, name, upload_id, parts)
        )

    async def discard(self) -> None:
        """Abort what a failed upload left (best effort: the failure being reported matters
        more than a cleanup error, and an unfinished upload is never shown as an object)."""
        bucket, name, client, upload_id = self.target.bucket, self.name, self.client, self.upload_id
        try:
            if upload_id is not None:
                await self.target._call(
                    lambda: client._abort_multipart_upload(bucket, name, upload_id)
                )
            if self.sidecar_written:
                await self.target._call(lambda: client.remove_object(bucket, name + SHA256_SUFFIX))
        except (TargetRefused, TargetUnavailable):
            pass
