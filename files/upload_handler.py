"""Multipart uploads digested as they arrive and refused past the size limit.

Django hands the body to upload handlers in chunks (1 MiB here). The vault installs the one
its backend needs (Vault.receiving_uploads): this one, which writes the chunks to a temporary
file beside the storage folder, or on S3 one that sends them to the bucket in parts while
they arrive (files/storage_s3.py). Both learn the size, SHA-256 and first bytes on the way,
so the upload is never read twice or held in memory, and both name the key it will be
stored under. A body larger than the limit is refused before its first byte is read when
the client says how long it is, and as soon as it passes the limit when it does not.
"""

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from files.storage import MIB, Digest, new_upload_key
from partsite.errors import TooLarge

# Room for the multipart boundaries and the small form fields around the file.
MULTIPART_OVERHEAD_BYTES = 1 * MIB
# Django's multipart parser reads the body in its handlers' chunk size and searches each
# chunk for the boundary in Python: 1 MiB instead of Django's 64 KiB makes a 500 MB
# upload about a quarter faster (bench/RESULTS.md) for 1 MiB more of memory.
CHUNK_SIZE = 1 * MIB


def max_upload_bytes():
    return settings.MAX_UPLOAD_MB * MIB


def too_large(size_text):
    return TooLarge(
        f"The file is larger than the {settings.MAX_UPLOAD_MB} MB limit ({size_text}).", field="file",
        max_upload_mb=settings.MAX_UPLOAD_MB,
    )


def check_declared_length(content_length):
    """Refuse a request body that says it is too long before reading any of it."""
    if content_length and content_length > max_upload_bytes() + MULTIPART_OVERHEAD_BYTES:
        raise too_large(f"the request is {content_length / MIB:.0f} MB")


class DigestingUploadHandler(TemporaryFileUploadHandler):
    """Spools the file to disk and digests it on the way (the local vault's handler)."""

    chunk_size = CHUNK_SIZE

    def __init__(self, request=None):
        super().__init__(request)
        self.spooled = []

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        check_declared_length(content_length)

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.digest = Digest()
        self.spooled.append(self.file)

    def receive_data_chunk(self, raw_data, start):
        self.digest.update(raw_data)
        if self.digest.size > max_upload_bytes():
            self.file.close()
            raise too_large("more than that was sent")
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        uploaded = super().file_complete(file_size)
        uploaded.digest = self.digest
        uploaded.storage_key = new_upload_key(self.file_name)
        return uploaded

    def discard(self):
        """Delete the spool files now: those stored were renamed into place, the others are not wanted."""
        for spooled in self.spooled:
            spooled.close()
