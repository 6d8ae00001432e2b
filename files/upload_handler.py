"""Multipart uploads spooled to disk and digested as they arrive, refused past the size limit.

Django hands the body to upload handlers in chunks (1 MiB here); this one writes them to a
temporary file and learns the size, SHA-256 and first bytes on the way, so the upload is
never read twice or held in memory. A body larger than the limit is refused before its
first byte is read when the client says how long it is, and as soon as it passes the
limit when it does not.

On S3, S3StreamingUploadHandler sends the body to an S3 multipart upload while it arrives,
instead of spooling it and sending the spool afterwards; the view completes the upload when
the revision is made and aborts it on any failure (StreamedToS3.discard).
"""

import uuid
from pathlib import PurePath

from django.core.files.uploadhandler import FileUploadHandler, TemporaryFileUploadHandler

from files.limits import max_upload_bytes, too_large
from files.models import EXTENSIONS
from files.storage import KEY_EXTENSIONS, MIB, Digest, S3PartsWriter, StreamedToS3, part_size_for

# Room for the multipart boundaries and the small form fields around the file.
MULTIPART_OVERHEAD_BYTES = 1 * MIB


class DigestingUploadHandler(TemporaryFileUploadHandler):
    # Django's multipart parser reads the body in its handlers' chunk size and searches each
    # chunk for the boundary in Python: 1 MiB instead of Django's 64 KiB makes a 500 MB
    # upload about a quarter faster (bench/RESULTS.md) for 1 MiB more of memory.
    chunk_size = 1 * MIB

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > max_upload_bytes() + MULTIPART_OVERHEAD_BYTES:
            raise too_large(f"the request is {content_length / MIB:.0f} MB")

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.digest = Digest()

    def receive_data_chunk(self, raw_data, start):
        self.digest.update(raw_data)
        if self.digest.size > max_upload_bytes():
            self.file.close()
            raise too_large("more than that was sent")
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        uploaded = super().file_complete(file_size)
        uploaded.digest = self.digest
        return uploaded


class S3StreamingUploadHandler(FileUploadHandler):
    """Digests the file as DigestingUploadHandler does, and sends it to S3 in parts as it arrives.

    The parts wait in an S3 multipart upload at the key the revision will have; storing the
    file (object_save) completes it. Whoever made the handler must call discard() once the
    request is over, whatever happened: it aborts every upload that was not completed.
    """

    chunk_size = 1 * MIB

    def __init__(self, request=None):
        super().__init__(request)
        self.streamed = []

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > max_upload_bytes() + MULTIPART_OVERHEAD_BYTES:
            raise too_large(f"the request is {content_length / MIB:.0f} MB")

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.digest = Digest()
        self.writer = S3PartsWriter(
            _revision_key(self.file_name), content_type=self.content_type, part_size=part_size_for(max_upload_bytes())
        )
        self.streamed.append(self.writer)

    def receive_data_chunk(self, raw_data, start):
        self.digest.update(raw_data)
        if self.digest.size > max_upload_bytes():
            self.discard()
            raise too_large("more than that was sent")
        self.writer.write(raw_data)

    def file_complete(self, file_size):
        self.writer.flush()
        uploaded = StreamedToS3(
            self.writer, name=self.file_name, content_type=self.content_type, size=file_size,
            charset=self.charset, content_type_extra=self.content_type_extra,
        )
        uploaded.digest = self.digest
        return uploaded

    def upload_interrupted(self):
        self.discard()

    def discard(self):
        """Abort every multipart upload this request started and did not complete."""
        for writer in self.streamed:
            writer.abort()


def _revision_key(filename):
    """The key new_revision_key would give the file's kind; a file of no known kind is refused later."""
    extension = PurePath(filename or "").suffix.lower()
    kind = next((kind for kind, extensions in EXTENSIONS.items() if extension in extensions), None)
    return f"revisions/{uuid.uuid4().hex}{KEY_EXTENSIONS.get(kind, '.upload')}"
