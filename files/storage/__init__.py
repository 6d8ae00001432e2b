"""Object storage for CAD files: one interface, the Vault, over S3/MinIO or local disk.

`vault()` is the only place that knows which backend is configured; everything else asks
the vault to save, read, list, delete and serve objects, to take in a simple upload as it
arrives and to run a direct one, and gets the fast path of whichever backend it is
(files/storage/local.py, files/storage/s3.py). files/tests/test_storage.py holds both to
the same contract.

Every read and write streams in chunks; no whole file is ever held in memory. Keys are
random (`revisions/<hex>.step`), never derived from what the user called the file.

Direct uploads (big files, bad networks) come in numbered parts, each sent to its own URL:
on S3 a presigned URL of an S3 multipart upload, so the bytes never pass through Partsite;
on local disk a signed, expiring Partsite URL whose part waits in UPLOAD_PARTS_DIR until
the upload is completed.
"""

import abc
import hashlib
import io
import sys
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.utils import timezone

from files.models import EXTENSIONS, Kind

CHUNK_BYTES = 64 * 1024
HEAD_BYTES = 256 * 1024  # enough for any STEP header and the first products after it
TAIL_BYTES = 4 * 1024  # enough for a STEP file's closing line after any trailing comments
MIB = 1024 * 1024
S3_MIN_PART_BYTES = 5 * MIB
S3_MAX_PARTS = 10_000
KEY_EXTENSIONS = {Kind.STEP: ".step", Kind.DRAWING: ".pdf"}

# Keys under these prefixes belong to Partsite; anything else in them is an orphan.
OWNED_PREFIXES = ("revisions/", "models/", "previews/", "dxf/")


@dataclass(frozen=True)
class PartSet:
    """The parts of an upload waiting in storage: an S3 multipart upload, or a local folder of parts."""

    id: str  # the S3 upload id, or the Upload's id that names the folder
    key: str
    started: object  # an aware datetime

    @property
    def name(self):
        return f"{self.key} (multipart upload {self.id})" if self.key else f"parts folder {self.id}"


class StorageError(Exception):
    """Storage did not do what was asked; the message is safe to show."""


class PartsGone(StorageError):
    """The parts of a direct upload are no longer in storage."""


def new_revision_key(kind, filename=""):
    """A new key for a file of this kind; a DXF drawing keeps its own extension."""
    extension = ".dxf" if PurePath(filename or "").suffix.lower() == ".dxf" else KEY_EXTENSIONS[kind]
    return f"revisions/{uuid.uuid4().hex}{extension}"


def upload_kind(filename):
    """The kind a file is by its extension, None for any other; an upload is named its key before it is checked."""
    extension = PurePath(filename or "").suffix.lower()
    return next((kind for kind, extensions in EXTENSIONS.items() if extension in extensions), None)


def new_upload_key(filename):
    """The key new_revision_key would give the file's kind (a file of no known kind is refused before it is stored)."""
    kind = upload_kind(filename)
    return new_revision_key(kind, filename) if kind else f"revisions/{uuid.uuid4().hex}.upload"


def new_glb_key():
    return f"models/{uuid.uuid4().hex}.glb"


def new_dxf_key():
    return f"dxf/{uuid.uuid4().hex}.dxf"


def new_preview_key():
    return f"previews/{uuid.uuid4().hex}.png"


def part_size_for(size):
    """Parts of the configured size, larger when a file would need more than S3 allows."""
    part_size = max(settings.UPLOAD_PART_SIZE_MB * MIB, S3_MIN_PART_BYTES)
    while -(-size // part_size) > S3_MAX_PARTS:
        part_size *= 2
    return part_size


def upload_expiry():
    return timezone.now() + timedelta(hours=settings.UPLOAD_EXPIRE_HOURS)


@dataclass
class Digest:
    """What streaming a file through `Digest.update` learnt: size, SHA-256, the first and the last bytes."""

    size: int = 0
    head: bytes = b""
    tail: bytes = b""
    _sha256: "hashlib._Hash" = field(default_factory=hashlib.sha256, repr=False)

    def update(self, chunk):
        self.size += len(chunk)
        self._sha256.update(chunk)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        if len(chunk) >= TAIL_BYTES:
            self.tail = bytes(chunk[-TAIL_BYTES:])
        else:
            self.tail = (self.tail + chunk)[-TAIL_BYTES:]

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


class Vault(abc.ABC):
    """What Partsite asks of object storage, whichever backend holds the objects.

    Objects are written once under a key and never overwritten. Reading a key that is not
    there raises FileNotFoundError. The methods marked abstract are the backend's own; the
    others work on any Django storage through its public API.
    """

    def __init__(self, storage):
        self.storage = storage

    # Objects

    def save(self, key, content):
        """Store a file object (with read() or chunks()) under exactly this key."""
        saved = self.storage.save(key, content if isinstance(content, File) else File(content, name=key))
        if saved != key:  # keys are random; a clash means something is badly wrong
            self.storage.delete(saved)
            raise StorageError(f"Storage refused the key {key}.")

    def save_chunks(self, key, chunks):
        """Store chunks under key, learning their size, SHA-256 and head in the same pass; returns the Digest."""
        digest = Digest()
        self.save(key, _DigestingReader(chunks, digest))
        return digest

    @abc.abstractmethod
    def save_upload(self, uploaded):
        """Store a file that an upload receiver (upload_receiver) took in, under its `storage_key`."""

    @abc.abstractmethod
    def chunks(self, key, start=0, length=None):
        """Yield an object's bytes, or `length` of them from `start`, in chunks."""

    def digest(self, key):
        digest = Digest()
        for chunk in self.chunks(key):
            digest.update(chunk)
        return digest

    def keys(self):
        """Every key under the prefixes Partsite owns."""
        for prefix in OWNED_PREFIXES:
            yield from self._keys_under(prefix.rstrip("/"))

    def objects(self):
        """(key, when it was last written) of every object under the prefixes Partsite owns."""
        for key in self.keys():
            try:
                yield key, self.storage.get_modified_time(key)
            except FileNotFoundError:  # deleted since it was listed
                continue

    def _keys_under(self, folder):
        try:
            folders, names = self.storage.listdir(folder)
        except FileNotFoundError:  # a local folder nothing was stored in yet
            return
        for name in sorted(names):
            yield f"{folder}/{name}"
        for name in sorted(folders):
            yield from self._keys_under(f"{folder}/{name}")

    def exists(self, key):
        return self.storage.exists(key)

    def delete(self, key):
        """Delete the object; nothing happens when the key is empty or not there."""
        if key:
            self.storage.delete(key)

    @abc.abstractmethod
    def probe(self):
        """Raise, saying what is wrong, unless storage can take an object now (for /ready/)."""

    # Serving

    @abc.abstractmethod
    def download_response(self, request, *, key, size, sha256, filename, content_type, inline=False):
        """The response that sends the object to the client: as an attachment named `filename`, or
        to be shown in the browser when `inline`. Only files.responses calls it: it records the access."""

    # Simple uploads

    @abc.abstractmethod
    def upload_receiver(self, filename, *, content_type, largest):
        """Where the body of an uploaded file goes while it arrives (files/upload_handler.py feeds it).

        The receiver takes `write(bytes)`, then `finish(size)`, which returns the UploadedFile to
        store with save_upload (it names its `storage_key`), and `discard()`, which drops
        whatever was not stored. `largest` is the most bytes the file may have.
        """

    # Direct uploads

    @abc.abstractmethod
    def start_upload(self, upload):
        """Make room for the parts of a new direct upload (before its row is saved)."""

    @abc.abstractmethod
    def part_url(self, upload, number, request):
        """Where the client PUTs part `number`; the URL itself is the permission, until the upload expires."""

    @abc.abstractmethod
    def parts_received(self, upload):
        """{part number: bytes received} of the parts storage holds; PartsGone if they are all gone."""

    @abc.abstractmethod
    def assemble(self, upload):
        """Join the parts into the object at upload.storage_key; returns its Digest."""

    @abc.abstractmethod
    def discard_parts(self, upload):
        """Drop the upload's parts; nothing happens when they are already gone."""

    @abc.abstractmethod
    def unfinished_part_sets(self):
        """Every set of parts storage holds for uploads not yet completed or discarded (PartSet)."""

    @abc.abstractmethod
    def discard_part_set(self, part_set):
        """Drop a set of parts that unfinished_part_sets listed."""

    def part_url_is_valid(self, upload, number, expires, signature):
        """Whether a URL of Partsite's part route was signed for this upload, part and expiry.

        The route checks the expiry. A vault whose part URLs lead to storage itself hands none
        out; LocalVault's lead to Partsite, and it also takes the part there (write_part).
        """
        return False


def vault():
    """The Vault over the configured storage: the one place that asks which backend it is.

    Built once per storage (Django builds the storage once, and again only when the settings
    that name it change, as tests do).
    """
    global _current
    storage = storages["default"]
    current = _current
    if current is None or current.storage is not storage:
        current = _current = _vault_for(storage)
    return current


_current = None


def _vault_for(storage):
    # A storage is an S3Storage only if Django imported its module to build it: asking so, rather
    # than importing it, keeps boto3 (13 MB a web worker) out of a local site.
    s3_backend = sys.modules.get("storages.backends.s3")
    if s3_backend and isinstance(storage, s3_backend.S3Storage):
        from files.storage.s3 import S3Vault  # imported here: it builds on this module

        return S3Vault(storage)
    from files.storage.local import LocalVault

    return LocalVault(storage)
