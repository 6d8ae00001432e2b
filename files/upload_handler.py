"""Multipart uploads digested as they arrive, stored as the vault receives them, refused past the size limit.

Django hands the body to upload handlers in chunks (1 MiB here). DigestingUploadHandler
learns the size, SHA-256 and first bytes of the file on the way, so it is never read
twice or held in memory, and passes each chunk to the vault's upload receiver
(Vault.upload_receiver): on local disk a spool file that is then renamed into place, on S3
a multipart upload sent while the body still arrives. A body larger than the limit is
refused before its first byte is read when the client says how long it is, and as soon as
it passes the limit when it does not.
"""

from contextlib import contextmanager

from django.core.files.uploadhandler import FileUploadHandler

from files.limits import max_upload_bytes, too_large
from files.storage import MIB, Digest, vault

# Room for the multipart boundaries and the small form fields around the file.
MULTIPART_OVERHEAD_BYTES = 1 * MIB


@contextmanager
def receiving_uploads(request):
    """For a request whose body is a file upload: the handler takes the body before anything
    reads it, and on leaving, whatever went wrong (a refused file, a duplicate, a client gone,
    a database error), what it received and was not stored is dropped: nothing stays half-written."""
    handler = DigestingUploadHandler(request)
    request.upload_handlers = [handler]
    try:
        yield
    finally:
        handler.discard()


class DigestingUploadHandler(FileUploadHandler):
    # Django's multipart parser reads the body in its handlers' chunk size and searches each
    # chunk for the boundary in Python: 1 MiB instead of Django's 64 KiB makes a 500 MB
    # upload about a quarter faster (bench/NOTES.md, Uploads) for 1 MiB more of memory.
    chunk_size = 1 * MIB

    def __init__(self, request=None):
        super().__init__(request)
        self.received = []

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > max_upload_bytes() + MULTIPART_OVERHEAD_BYTES:
            raise too_large(f"the request is {content_length / MIB:.0f} MB")

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.digest = Digest()
        self.receiver = vault().upload_receiver(
            self.file_name, content_type=self.content_type, largest=max_upload_bytes()
        )
        self.received.append(self.receiver)

    def receive_data_chunk(self, raw_data, start):
        self.digest.update(raw_data)
        if self.digest.size > max_upload_bytes():
            self.discard()
            raise too_large("more than that was sent")
        self.receiver.write(raw_data)

    def file_complete(self, file_size):
        uploaded = self.receiver.finish(file_size)
        uploaded.digest = self.digest
        return uploaded

    def upload_interrupted(self):
        self.discard()

    def discard(self):
        """Drop whatever this request received and did not store."""
        for receiver in self.received:
            receiver.discard()
