"""Object storage for CAD files: S3/MinIO or local disk, behind one small interface.

Every read and write streams in chunks; no whole file is ever held in memory. Keys are
random (`revisions/<hex>.step`), never derived from what the user called the file.

Direct uploads (big files, bad networks) come in numbered parts. On S3 they are an S3
multipart upload and the client sends each part to a presigned URL, so the bytes never
pass through Partsite. On local disk each part goes to a signed, expiring Partsite URL
and waits in UPLOAD_PARTS_DIR until the upload is completed.
"""

import hashlib
import io
import math
import shutil
import tempfile
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path

import boto3
from botocore.config import Config
from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import storages
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.http import content_disposition_header
from storages.backends.s3 import S3Storage

from files.models import Kind

CHUNK_BYTES = 64 * 1024
HEAD_BYTES = 256 * 1024  # enough for any STEP header and the first products after it
MIB = 1024 * 1024
S3_MIN_PART_BYTES = 5 * MIB
S3_MAX_PARTS = 10_000
KEY_EXTENSIONS = {Kind.STEP: ".step", Kind.DRAWING: ".pdf"}


class StorageError(Exception):
    """Storage did not do what was asked; the message is safe to show."""


class PartsGone(StorageError):
    """The parts of a direct upload are no longer in storage."""


def _storage():
    return storages["default"]


def is_s3():
    return isinstance(_storage(), S3Storage)


def new_revision_key(kind):
    return f"revisions/{uuid.uuid4().hex}{KEY_EXTENSIONS[kind]}"


def new_glb_key():
    return f"models/{uuid.uuid4().hex}.glb"


def new_preview_key():
    return f"previews/{uuid.uuid4().hex}.png"


# Keys under these prefixes belong to Partsite; anything else in them is an orphan.
OWNED_PREFIXES = ("revisions/", "models/", "previews/")


@dataclass
class Digest:
    """What streaming a file through `Digest.update` learnt: size, SHA-256 and the first bytes."""

    size: int = 0
    head: bytes = b""
    _sha256: "hashlib._Hash" = field(default_factory=hashlib.sha256, repr=False)

    def update(self, chunk):
        self.size += len(chunk)
        self._sha256.update(chunk)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]

    @property
    def sha256(self):
        return self._sha256.hexdigest()


class _DigestingReader(io.RawIOBase):
    """A readable, unseekable stream over an iterator of chunks that digests what passes through."""

    def __init__(self, chunks, digest):
        super().__init__()
        self._chunks = iter(chunks)
        self._digest = digest
        self._pending = b""

    def readable(self):
        return True

    def readinto(self, buffer):
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._digest.update(chunk)
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size


def object_save(key, content):
    """Store a file object (with read() or chunks()) under exactly this key."""
    if isinstance(content, StreamedToS3):
        content.complete(key)
        return
    if is_s3() and hasattr(content, "temporary_file_path"):
        _s3_save_spooled(key, content)
        return
    saved = _storage().save(key, content if isinstance(content, File) else File(content, name=key))
    if saved != key:  # keys are random; a clash means something is badly wrong
        _storage().delete(saved)
        raise StorageError(f"Storage refused the key {key}.")


def _s3_save_spooled(key, spooled):
    """Upload a file spooled to disk by its path, which boto3 streams from disk.

    Given a file object instead, boto3 reads each 8 MB part into memory, ten parts at a
    time, and the web worker's memory grows to several hundred MB (see bench/run.py).
    """
    storage = _storage()
    storage.bucket.Object(key).upload_file(
        spooled.temporary_file_path(), ExtraArgs=storage._get_write_parameters(key, spooled),
        Config=storage.transfer_config,
    )


class S3PartsWriter:
    """An S3 multipart upload fed while a request body arrives, so receiving and sending overlap.

    Each `part_size` bytes written become a part, sent by a background thread while the next
    one fills. A part waits in a temporary file (FILE_UPLOAD_TEMP_DIR), not in memory: parts
    held as 8 MiB buffers cost the web worker 25 MB more at its peak (bench/RESULTS.md), and
    botocore streams a file body from disk. At most IN_FLIGHT parts are on their way while
    the next fills; writing waits for one of them otherwise. Nothing is visible in the
    bucket until complete(); abort() drops every part sent.
    """

    IN_FLIGHT = 2

    def __init__(self, key, *, content_type, part_size):
        self.key, self.part_size, self.closed = key, part_size, False
        parameters = _storage()._get_write_parameters(key, UploadedFile(content_type=content_type))
        self.upload_id = _client().create_multipart_upload(Bucket=_bucket(), Key=key, **parameters)["UploadId"]
        self._part, self._filled = self._new_part(), 0
        self._parts = []  # futures of {"PartNumber": n, "ETag": ...}, in order
        self._senders = ThreadPoolExecutor(max_workers=self.IN_FLIGHT, thread_name_prefix="s3-part")

    @staticmethod
    def _new_part():
        return tempfile.TemporaryFile(prefix="part-", dir=settings.FILE_UPLOAD_TEMP_DIR)

    def write(self, data):
        data = memoryview(data)
        while data:
            taken = min(len(data), self.part_size - self._filled)
            self._part.write(data[:taken])
            self._filled += taken
            data = data[taken:]
            if self._filled == self.part_size:
                self._send()

    def flush(self):
        """Send what is left as the last part (the only one that may be shorter, or empty)."""
        if self._filled or not self._parts:
            self._send()

    def complete(self):
        self.flush()
        parts = [sent.result() for sent in self._parts]
        self._senders.shutdown()
        self._part.close()
        _client().complete_multipart_upload(
            Bucket=_bucket(), Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": parts}
        )
        self.closed = True

    def abort(self):
        """Drop the parts sent and the multipart upload; nothing of it stays in the bucket."""
        if self.closed:
            return
        self.closed = True
        self._senders.shutdown(wait=True, cancel_futures=True)  # a part still on its way would outlive an abort
        self._part.close()
        try:
            _client().abort_multipart_upload(Bucket=_bucket(), Key=self.key, UploadId=self.upload_id)
        except _client().exceptions.NoSuchUpload:
            pass

    def _send(self):
        self._part.flush()
        self._part.seek(0)
        self._parts.append(self._senders.submit(self._send_and_close, len(self._parts) + 1, self._part))
        self._part, self._filled = self._new_part(), 0
        while len(sending := [sent for sent in self._parts if not sent.done()]) > self.IN_FLIGHT:
            wait(sending, return_when=FIRST_COMPLETED)
        for sent in self._parts:
            if sent.done():
                sent.result()  # a part that failed stops the upload here

    def _send_and_close(self, number, part):
        with part:
            return self._upload_part(number, part)

    def _upload_part(self, number, body):
        response = _client().upload_part(
            Bucket=_bucket(), Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": response["ETag"]}


class StreamedToS3(UploadedFile):
    """A file whose bytes already sit in the parts of an S3 multipart upload; storing it completes that."""

    def __init__(self, writer, *, name, content_type, size, charset=None, content_type_extra=None):
        super().__init__(None, name, content_type, size, charset, content_type_extra)
        self.writer = writer

    @property
    def storage_key(self):
        return self.writer.key

    def complete(self, key):
        if key != self.writer.key:
            raise StorageError(f"Storage refused the key {key}.")
        self.writer.complete()

    def discard(self):
        self.writer.abort()


def object_save_digesting(key, chunks):
    """Store chunks under key, learning their size, SHA-256 and head in the same pass."""
    digest = Digest()
    object_save(key, _DigestingReader(chunks, digest))
    return digest


def object_delete(key):
    if key:
        _storage().delete(key)


def object_chunks(key, start=0, length=None):
    """Yield an object's bytes, or `length` of them from `start`, in chunks.

    Raises FileNotFoundError when the object is not there.
    """
    if is_s3():
        ranged = {"Range": f"bytes={start}-{'' if length is None else start + length - 1}"} if start or length else {}
        try:
            body = _client().get_object(Bucket=_bucket(), Key=key, **ranged)["Body"]
        except _client().exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()
        return
    remaining = math.inf if length is None else length
    with _storage().open(key, "rb") as stored:
        stored.seek(start)
        while remaining > 0 and (chunk := stored.read(int(min(CHUNK_BYTES, remaining)))):
            remaining -= len(chunk)
            yield chunk


def object_open(key):
    """The object as an open binary file, on local disk only: what a FileResponse sends with sendfile().

    Raises FileNotFoundError when the object is not there.
    """
    return open(_storage().path(key), "rb")


def object_digest(key):
    digest = Digest()
    for chunk in object_chunks(key):
        digest.update(chunk)
    return digest


def object_keys():
    """Every key under the prefixes Partsite owns."""
    if is_s3():
        paginator = _client().get_paginator("list_objects_v2")
        for prefix in OWNED_PREFIXES:
            for page in paginator.paginate(Bucket=_bucket(), Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"]
        return
    root = Path(settings.MEDIA_ROOT)
    for prefix in OWNED_PREFIXES:
        folder = root / prefix
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    yield path.relative_to(root).as_posix()


def download_url(key, *, filename, content_type, expires=None):
    """A presigned, expiring S3 URL that serves the object as an attachment with this name."""
    return _public_client().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": _bucket(),
            "Key": key,
            "ResponseContentDisposition": content_disposition_header(True, filename),
            "ResponseContentType": content_type,
        },
        ExpiresIn=expires or settings.DOWNLOAD_LINK_EXPIRE_SECONDS,
    )


def part_size_for(size):
    """Parts of the configured size, larger when a file would need more than S3 allows."""
    part_size = max(settings.UPLOAD_PART_SIZE_MB * MIB, S3_MIN_PART_BYTES)
    while -(-size // part_size) > S3_MAX_PARTS:
        part_size *= 2
    return part_size


def upload_expiry():
    return timezone.now() + timedelta(hours=settings.UPLOAD_EXPIRE_HOURS)


@cache
def _s3_client(endpoint_url, region, addressing_style, access_key, secret_key):
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": addressing_style}),
    )


def _client(endpoint_url=None):
    storage = _storage()
    return _s3_client(
        endpoint_url or storage.endpoint_url,
        storage.region_name,
        storage.addressing_style,
        storage.access_key,
        storage.secret_key,
    )


def _public_client():
    """Presigned URLs are signed for the host clients use, which may not be ours."""
    return _client(settings.AWS_S3_PUBLIC_ENDPOINT_URL)


def _bucket():
    return _storage().bucket_name


class S3Parts:
    """Direct uploads as S3 multipart uploads; clients PUT each part to a presigned URL."""

    def start(self, upload):
        response = _client().create_multipart_upload(
            Bucket=_bucket(), Key=upload.storage_key, ContentType=upload.content_type
        )
        upload.s3_upload_id = response["UploadId"]

    def part_url(self, upload, number, request):
        seconds = max(60, int((upload.expires_at - timezone.now()).total_seconds()))
        return _public_client().generate_presigned_url(
            "upload_part",
            Params={"Bucket": _bucket(), "Key": upload.storage_key, "UploadId": upload.s3_upload_id,
                    "PartNumber": number},
            ExpiresIn=min(seconds, 7 * 24 * 3600),
        )

    def received(self, upload):
        """{part number: bytes received} for the parts S3 holds."""
        return {part["PartNumber"]: part["Size"] for part in self._parts(upload)}

    def assemble(self, upload):
        """Join the parts into the object at upload.storage_key, then digest it."""
        parts = [{"PartNumber": part["PartNumber"], "ETag": part["ETag"]} for part in self._parts(upload)]
        _client().complete_multipart_upload(
            Bucket=_bucket(), Key=upload.storage_key, UploadId=upload.s3_upload_id,
            MultipartUpload={"Parts": sorted(parts, key=lambda part: part["PartNumber"])},
        )
        return object_digest(upload.storage_key)

    def discard(self, upload):
        try:
            _client().abort_multipart_upload(Bucket=_bucket(), Key=upload.storage_key, UploadId=upload.s3_upload_id)
        except _client().exceptions.NoSuchUpload:
            pass

    @staticmethod
    def _parts(upload):
        paginator = _client().get_paginator("list_parts")
        pages = paginator.paginate(Bucket=_bucket(), Key=upload.storage_key, UploadId=upload.s3_upload_id)
        try:
            return [part for page in pages for part in page.get("Parts", [])]
        except _client().exceptions.NoSuchUpload:
            raise PartsGone("its multipart upload is no longer in the bucket (aborted outside Partsite?)") from None


class LocalParts:
    """Direct uploads on local disk: parts go to signed Partsite URLs and wait as files."""

    SALT = "partsite.files.upload-part"

    def start(self, upload):
        self._folder(upload).mkdir(parents=True, exist_ok=True)

    def part_url(self, upload, number, request):
        expires = int(upload.expires_at.timestamp())
        path = reverse("upload-part", args=[upload.id, number])
        return request.build_absolute_uri(f"{path}?expires={expires}&signature={self.signature(upload, number, expires)}")

    def signature(self, upload, number, expires):
        return signing.Signer(salt=self.SALT).signature(f"{upload.id}:{number}:{expires}")

    def signature_is_valid(self, upload, number, expires, signature):
        return constant_time_compare(self.signature(upload, number, expires), signature)

    def received(self, upload):
        folder = self._folder(upload)
        if not folder.is_dir():
            return {}
        return {int(path.stem): path.stat().st_size for path in folder.glob("*.part")}

    def write_part(self, upload, number, chunks):
        """Store one part; it appears (atomically, by rename) only once all of it is there."""
        folder = self._folder(upload)
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{number}.receiving-{uuid.uuid4().hex}"
        try:
            with open(partial, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
            partial.replace(folder / f"{number}.part")
        finally:
            partial.unlink(missing_ok=True)

    def assemble(self, upload):
        folder = self._folder(upload)
        paths = [folder / f"{number}.part" for number in range(1, upload.part_count + 1)]
        return object_save_digesting(upload.storage_key, _file_chunks(paths))

    def discard(self, upload):
        shutil.rmtree(self._folder(upload), ignore_errors=True)

    @staticmethod
    def _folder(upload):
        return Path(settings.UPLOAD_PARTS_DIR) / str(upload.id)


def _file_chunks(paths):
    for path in paths:
        with open(path, "rb") as part:
            while chunk := part.read(CHUNK_BYTES):
                yield chunk


def direct_uploads():
    return S3Parts() if is_s3() else LocalParts()
