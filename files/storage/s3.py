"""The Vault on S3 or MinIO (django-storages' S3Storage), through the storage's own boto3 client.

Downloads are a 302 to a short-lived presigned link, so the bytes go from the bucket to the
client and never through Partsite. A simple upload is sent to the bucket as an S3 multipart
upload while the request body arrives (S3PartsWriter), so receiving and sending overlap;
storing it completes the multipart upload, and discarding it aborts the upload. The parts
of a direct upload are an S3 multipart upload too, and the client PUTs each part to a
presigned URL.
"""

import logging
import tempfile
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from functools import cached_property

import boto3
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.http import content_disposition_header

from files.models import content_type_for
from files.storage import (
    CHUNK_BYTES, OWNED_PREFIXES, PartSet, PartsGone, StorageError, Vault, new_upload_key, part_size_for, upload_kind,
)

logger = logging.getLogger(__name__)

UNKNOWN_CONTENT_TYPE = "application/octet-stream"
MAX_PRESIGNED_SECONDS = 7 * 24 * 3600  # the longest S3 honours


class S3Vault(Vault):
    def __init__(self, storage):
        super().__init__(storage)
        self._public_clients = {}

    @cached_property
    def client(self):
        """The storage's own boto3 client, taken once and shared by every thread.

        django-storages keeps a connection per thread because boto3's resources are not
        thread-safe; its clients are, and each connection costs a thread a boto3 session of its
        own (about 10 MB), so the web process's transfers all go through this one.
        """
        return self.storage.connection.meta.client

    @property
    def bucket(self):
        return self.storage.bucket_name

    def write_parameters(self, key, content_type):
        """What an object is stored with: the storage's object parameters, our content type, its ACL."""
        parameters = {**self.storage.get_object_parameters(key), "ContentType": content_type}
        if self.storage.default_acl:
            parameters.setdefault("ACL", self.storage.default_acl)
        return parameters

    # Objects

    def save_upload(self, uploaded):
        uploaded.complete()

    def delete(self, key):
        if key:  # S3 answers a key that is not there as one deleted
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def chunks(self, key, start=0, length=None):
        ranged = {"Range": f"bytes={start}-{'' if length is None else start + length - 1}"} if start or length else {}
        client = self.client
        try:
            body = client.get_object(Bucket=self.bucket, Key=key, **ranged)["Body"]
        except client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()

    def probe(self):
        client = self.client
        try:
            client.head_bucket(Bucket=self.bucket)
        except client.exceptions.ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                raise StorageError(f"the bucket {self.bucket} does not exist") from None
            if status == 403:
                raise StorageError(f"access to the bucket {self.bucket} is denied") from None
            raise

    # Serving

    def download_response(self, request, *, key, size, sha256, filename, content_type, inline=False):
        link = self._presigned_url(
            "get_object",
            {
                "Bucket": self.bucket, "Key": key,
                "ResponseContentDisposition": content_disposition_header(not inline, filename),
                "ResponseContentType": content_type,
            },
            settings.DOWNLOAD_LINK_EXPIRE_SECONDS,
        )
        return HttpResponseRedirect(link)

    # Simple uploads

    def upload_receiver(self, filename, *, content_type, largest):
        # Stored as what its extension says it is, whatever the client claimed; a file of no
        # known kind is refused before it is stored.
        kind = upload_kind(filename)
        return S3PartsWriter(
            self, new_upload_key(filename), filename=filename,
            content_type=content_type_for(kind, filename) if kind else UNKNOWN_CONTENT_TYPE,
            part_size=part_size_for(largest),
        )

    # Direct uploads

    def start_upload(self, upload):
        response = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=upload.storage_key, **self.write_parameters(upload.storage_key, upload.content_type)
        )
        upload.s3_upload_id = response["UploadId"]

    def part_url(self, upload, number, request):
        seconds = max(60, int((upload.expires_at - timezone.now()).total_seconds()))
        return self._presigned_url(
            "upload_part",
            {"Bucket": self.bucket, "Key": upload.storage_key, "UploadId": upload.s3_upload_id, "PartNumber": number},
            min(seconds, MAX_PRESIGNED_SECONDS),
        )

    def parts_received(self, upload):
        return {part["PartNumber"]: part["Size"] for part in self._parts(upload)}

    def assemble(self, upload):
        parts = [{"PartNumber": part["PartNumber"], "ETag": part["ETag"]} for part in self._parts(upload)]
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=upload.storage_key, UploadId=upload.s3_upload_id,
            MultipartUpload={"Parts": sorted(parts, key=lambda part: part["PartNumber"])},
        )
        return self.digest(upload.storage_key)

    def discard_parts(self, upload):
        _abort(self.client, self.bucket, upload.storage_key, upload.s3_upload_id)

    def unfinished_part_sets(self):
        sets = []
        for prefix in OWNED_PREFIXES:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                sets += [
                    PartSet(id=item["UploadId"], key=item["Key"], started=item["Initiated"])
                    for item in page.get("Uploads", [])
                ]
        return sets

    def discard_part_set(self, part_set):
        _abort(self.client, self.bucket, part_set.key, part_set.id)

    def objects(self):
        for prefix in OWNED_PREFIXES:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"], item["LastModified"]

    def _parts(self, upload):
        client = self.client
        pages = client.get_paginator("list_parts").paginate(
            Bucket=self.bucket, Key=upload.storage_key, UploadId=upload.s3_upload_id
        )
        try:
            return [part for page in pages for part in page.get("Parts", [])]
        except client.exceptions.NoSuchUpload:
            raise PartsGone("its multipart upload is no longer in the bucket (aborted outside Partsite?)") from None

    # Presigned links

    def _presigned_url(self, operation, parameters, seconds):
        return self._presigning_client().generate_presigned_url(operation, Params=parameters, ExpiresIn=seconds)

    def _presigning_client(self):
        """A client for the host that clients reach storage at: a presigned link's signature covers the host.

        That is usually the storage's own endpoint. When it is not (MinIO is http://minio:9000 to
        Partsite inside a compose network, https://files.example.com to browsers), links need a
        client of their own for that endpoint, built once, with the storage's credentials and config.
        """
        public = settings.AWS_S3_PUBLIC_ENDPOINT_URL or self.storage.endpoint_url
        if public == self.storage.endpoint_url:
            return self.client
        if public not in self._public_clients:
            storage = self.storage
            session = boto3.session.Session(
                aws_access_key_id=storage.access_key, aws_secret_access_key=storage.secret_key,
                aws_session_token=storage.security_token,
            )
            self._public_clients[public] = session.client(
                "s3", endpoint_url=public, region_name=storage.region_name, config=storage.client_config,
            )
        return self._public_clients[public]


def _abort(client, bucket, key, upload_id):
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except client.exceptions.NoSuchUpload:
        pass


class S3PartsWriter:
    """An S3 multipart upload fed while a request body arrives, so receiving and sending overlap.

    Each `part_size` bytes written become a part, sent by a background thread while the next
    one fills. A part waits in a temporary file (FILE_UPLOAD_TEMP_DIR), not in memory: parts
    held as 8 MiB buffers cost the web worker 25 MB more at its peak (bench/NOTES.md), and
    botocore streams a file body from disk. At most IN_FLIGHT parts are on their way while
    the next fills; writing waits for one of them otherwise. Nothing is visible in the
    bucket until complete(); discard() drops every part sent. It is the S3 vault's upload
    receiver (Vault.upload_receiver).
    """

    IN_FLIGHT = 2

    def __init__(self, vault, key, *, filename, content_type, part_size):
        # One client for the request's thread and the senders': boto3 clients are thread-safe.
        self.client, self.bucket = vault.client, vault.bucket
        self.key, self.filename, self.content_type = key, filename, content_type
        self.part_size, self.closed = part_size, False
        self.upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=key, **vault.write_parameters(key, content_type)
        )["UploadId"]
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

    def finish(self, size):
        """Send what is left as the last part (the only one that may be shorter, or empty)."""
        if self._filled or not self._parts:
            self._send()
        return StreamedToS3(self, name=self.filename, content_type=self.content_type, size=size)

    def complete(self):
        parts = [sent.result() for sent in self._parts]
        self._senders.shutdown()
        self._part.close()
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": parts}
        )
        self.closed = True

    def discard(self):
        """Drop the parts sent and the multipart upload, unless it was completed; nothing else stays."""
        if self.closed:
            return
        self.closed = True
        self._senders.shutdown(wait=True, cancel_futures=True)  # a part still on its way would outlive an abort
        self._part.close()
        try:
            _abort(self.client, self.bucket, self.key, self.upload_id)
        except Exception:  # storage is down: files.cleanup aborts the upload once it is back
            logger.warning("could not abort the multipart upload of %s", self.key, exc_info=True)

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
        response = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": response["ETag"]}


class StreamedToS3(UploadedFile):
    """A file whose bytes already sit in the parts of an S3 multipart upload; storing it completes that."""

    def __init__(self, writer, *, name, content_type, size):
        super().__init__(None, name, content_type, size)
        self.writer = writer

    @property
    def storage_key(self):
        return self.writer.key

    def complete(self):
        self.writer.complete()
