"""The Vault on local disk (Django's FileSystemStorage under MEDIA_ROOT).

Downloads are a FileResponse over the open file (or over the requested range of it), so a
WSGI server with a `wsgi.file_wrapper` (gunicorn) hands the bytes to the kernel with
sendfile() instead of passing them through Python; elsewhere it is read in chunks. A simple
upload is spooled next to the storage folder as it arrives and renamed into place (the
storage moves a file that has a temporary_file_path). The parts of a direct upload go to
signed Partsite URLs and wait as files in UPLOAD_PARTS_DIR.
"""

import errno
import math
import os
import re
import shutil
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import content_disposition_header

from files.storage import CHUNK_BYTES, Digest, PartSet, PartsGone, Vault, new_upload_key
from partsite.errors import NotFound

SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class LocalVault(Vault):
    PART_URL_SALT = "partsite.files.upload-part"

    # Objects

    def save_upload(self, uploaded):
        # FileSystemStorage renames a spooled upload into place rather than copying it.
        self.save(uploaded.storage_key, uploaded)

    def chunks(self, key, start=0, length=None):
        remaining = math.inf if length is None else length
        with self.storage.open(key, "rb") as stored:
            stored.seek(start)
            while remaining > 0 and (chunk := stored.read(int(min(CHUNK_BYTES, remaining)))):
                remaining -= len(chunk)
                yield chunk

    def probe(self):
        for folder in (Path(self.storage.location), Path(settings.UPLOAD_PARTS_DIR)):
            if not folder.is_dir():
                if not folder.parent.is_dir():
                    raise FileNotFoundError(f"{folder} and the folder it belongs in are missing")
                folder.mkdir(exist_ok=True)  # a site that has stored nothing yet
            with tempfile.TemporaryFile(dir=folder) as probe:
                probe.write(b"ready")
                probe.flush()

    # Serving

    def download_response(self, request, *, key, size, sha256, filename, content_type, inline=False):
        etag = f'"{sha256}"'
        start, end = 0, size - 1
        ranged = _requested_range(request, size, etag)
        if ranged == "unsatisfiable":
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        if ranged:
            start, end = ranged
        try:
            stored = open(self.storage.path(key), "rb")
        except FileNotFoundError:
            raise NotFound(f"{filename} is missing from storage.") from None
        if ranged:
            stored.seek(start)
            stored = FileRange(stored, end - start + 1)
        response = FileResponse(stored, status=206 if ranged else 200, content_type=content_type)
        response.block_size = CHUNK_BYTES  # when nothing sendfile()s it: the test client, runserver
        if ranged:
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
        response["Accept-Ranges"] = "bytes"
        response["ETag"] = etag
        response["Content-Disposition"] = content_disposition_header(not inline, filename)
        response["Cache-Control"] = "private, no-transform"
        return response

    # Simple uploads

    def upload_receiver(self, filename, *, content_type, largest):
        return _Spool(filename, content_type)

    # Direct uploads

    def start_upload(self, upload):
        self._folder(upload).mkdir(parents=True, exist_ok=True)

    def part_url(self, upload, number, request):
        expires = int(upload.expires_at.timestamp())
        path = reverse("upload-part", args=[upload.id, number])
        return request.build_absolute_uri(f"{path}?expires={expires}&signature={self.signature(upload, number, expires)}")

    def signature(self, upload, number, expires):
        return signing.Signer(salt=self.PART_URL_SALT).signature(f"{upload.id}:{number}:{expires}")

    def part_url_is_valid(self, upload, number, expires, signature):
        return constant_time_compare(self.signature(upload, number, expires), signature)

    def write_part(self, upload, number, chunks):
        """Store one part sent to its Partsite URL; it appears (atomically, by rename) only once all of it is there."""
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

    def parts_received(self, upload):
        folder = self._folder(upload)
        if not folder.is_dir():  # start_upload made it
            raise PartsGone("its folder of parts is no longer on this machine's disk")
        received = {number: upload.part_length(number) for number in range(1, _joined_parts(upload, folder) + 1)}
        received.update((int(path.stem), path.stat().st_size) for path in folder.glob("*.part"))
        return received

    def assemble(self, upload):
        """Join the parts by appending each to the first, deleting it once appended, and rename the whole
        into place: the disk never holds more than the file and one part. An append that fails (a full
        disk) is cut off again, so the parts not yet appended stay and completing can be tried again.
        The whole is digested as it is joined (what was joined before, then each part on its way), so
        the file is not read again for its SHA-256."""
        folder = self._folder(upload)
        joined = folder / JOINED
        done = _joined_parts(upload, folder)
        if not joined.exists():
            (folder / "1.part").rename(joined)
            done = 1
        with open(joined, "r+b") as out:
            out.truncate(sum(upload.part_length(number) for number in range(1, done + 1)))  # a torn append
            for number in range(1, done + 1):
                (folder / f"{number}.part").unlink(missing_ok=True)  # appended before a crash
            digest = Digest()
            while chunk := out.read(CHUNK_BYTES):
                digest.update(chunk)
            for number in range(done + 1, upload.part_count + 1):
                _append(out, folder / f"{number}.part", digest)
        target = Path(self.storage.path(upload.storage_key))
        target.parent.mkdir(parents=True, exist_ok=True)
        if settings.FILE_UPLOAD_PERMISSIONS is not None:
            joined.chmod(settings.FILE_UPLOAD_PERMISSIONS)
        try:
            joined.rename(target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            with open(joined, "rb") as whole:  # the parts folder is on another disk than the storage
                self.save(upload.storage_key, whole)
            joined.unlink()
        return digest

    def discard_parts(self, upload):
        shutil.rmtree(self._folder(upload), ignore_errors=True)

    def unfinished_part_sets(self):
        folder = Path(settings.UPLOAD_PARTS_DIR)
        if not folder.is_dir():
            return []
        return [
            PartSet(id=path.name, key="", started=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC))
            for path in sorted(folder.iterdir()) if path.is_dir()
        ]

    def discard_part_set(self, part_set):
        shutil.rmtree(Path(settings.UPLOAD_PARTS_DIR) / part_set.id, ignore_errors=True)

    @staticmethod
    def _folder(upload):
        return Path(settings.UPLOAD_PARTS_DIR) / str(upload.id)


class _Spool:
    """An upload spooled to a temporary file (FILE_UPLOAD_TEMP_DIR), as Django's own handler spools one."""

    def __init__(self, filename, content_type):
        self.file = TemporaryUploadedFile(filename, content_type, 0, None)
        self.file.storage_key = new_upload_key(filename)

    def write(self, data):
        self.file.write(data)

    def finish(self, size):
        self.file.seek(0)
        self.file.size = size
        return self.file

    def discard(self):
        # Stored, it was renamed into place; if not, closing deletes it.
        self.file.close()


JOINED = "joined"


def _joined_parts(upload, folder):
    """How many parts, from the first, the joined file of an assembly holds whole."""
    try:
        size = (folder / JOINED).stat().st_size
    except FileNotFoundError:
        return 0
    count = 0
    while count < upload.part_count and size >= upload.part_length(count + 1):
        size -= upload.part_length(count + 1)
        count += 1
    return count


def _append(out, part_path, digest):
    """Append one part to the joined file, digesting it on the way, then delete the part; cut the file
    back if that fails (the digest is then thrown away with the failed completion)."""
    out.seek(0, os.SEEK_END)
    size_before = out.tell()
    try:
        with open(part_path, "rb") as part:
            while chunk := part.read(CHUNK_BYTES):
                digest.update(chunk)
                out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    except BaseException:
        out.truncate(size_before)
        raise
    part_path.unlink()


class FileRange:
    """`length` bytes of an open file from where it stands: read() stops after them.

    fileno() is the file's own, so gunicorn's sendfile() sends them from the file's position
    (the response's Content-Length says how many).
    """

    def __init__(self, stored, length):
        self._stored, self._left = stored, length
        self.mode = "rb"

    def read(self, size=-1):
        size = self._left if size is None or size < 0 else min(size, self._left)
        chunk = self._stored.read(size) if size else b""
        self._left -= len(chunk)
        return chunk

    def fileno(self):
        return self._stored.fileno()

    def seekable(self):  # so FileResponse does not read it through to learn its length
        return False

    def seek(self, offset, whence=os.SEEK_SET):  # socket.sendfile() may, to where it already is
        return self._stored.seek(offset, whence)

    def close(self):
        self._stored.close()


def _requested_range(request, size, etag):
    """(first, last) byte of a single satisfiable range, 'unsatisfiable', or None for the whole file.

    Several ranges, a malformed header, or an If-Range that no longer matches get the whole
    file, as RFC 9110 allows.
    """
    header = request.headers.get("Range", "")
    match = SINGLE_RANGE.match(header.replace(" ", ""))
    if not match or not any(match.groups()) or request.headers.get("If-Range", etag) != etag:
        return None
    first, last = match.groups()
    if not first:  # "bytes=-500": the last 500 bytes
        if int(last) == 0:
            return "unsatisfiable"
        return max(0, size - int(last)), size - 1
    first, last = int(first), min(int(last) if last else size - 1, size - 1)
    if first >= size:
        return "unsatisfiable"
    if last < first:
        return None
    return first, last
