"""The upload handler's hashing and spooling against hashlib and the same writes, over the same bytes.

files.upload_handler.DigestingUploadHandler, driven as Django drives it: chunks of its
chunk_size, each digested (size, SHA-256, the head kept for sniffing) and written to the
spool file. The reference does exactly the work the handler cannot avoid: hashlib over
the same chunks and the same writes into a spool file in the same folder. Interleaved,
with the writes of each flushed before the next. (The handler's digest against hashlib
alone is left out: it is hashlib, so that ratio is 1 by construction.)

Runs Django in this process on a data dir of its own, removed at the end.
"""

import hashlib
import os
import sys
import tempfile
import time

from bench.harness import QUICK, Figure, Section, Target, interleaved

MIB = 2**20
SIZE_MB = int(os.environ.get("BENCH_HASHING_MB", 64 if QUICK else 256))
TARGET = 0.9


def main():
    with tempfile.TemporaryDirectory(prefix="partsite-bench-hashing-") as data_dir:
        os.environ["PARTSITE_DATA_DIR"] = data_dir
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partsite.settings")
        import django

        django.setup()
        measure()


def measure():
    from django.conf import settings

    from files.upload_handler import DigestingUploadHandler

    section = Section("hashing", "SHA-256 and spooling during an upload")
    data = os.urandom(SIZE_MB * MIB)
    expected = hashlib.sha256(data).hexdigest()
    chunk = DigestingUploadHandler.chunk_size

    def handler():
        started = time.perf_counter()
        upload = DigestingUploadHandler()
        upload.new_file("file", "bench.step", "model/step", len(data))
        for start in range(0, len(data), chunk):
            upload.receive_data_chunk(data[start:start + chunk], start)
        uploaded = upload.file_complete(len(data))
        uploaded.close()
        seconds = time.perf_counter() - started
        if uploaded.digest.sha256 != expected:
            sys.exit("the upload handler computed another SHA-256")
        return SIZE_MB / seconds

    def reference():
        started = time.perf_counter()
        sha256 = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as spool:
            for start in range(0, len(data), chunk):
                piece = data[start:start + chunk]
                sha256.update(piece)
                spool.write(piece)
        seconds = time.perf_counter() - started
        if sha256.hexdigest() != expected:
            sys.exit("hashlib computed another SHA-256")
        return SIZE_MB / seconds

    print(f"SHA-256 and spooling of {SIZE_MB} MB in memory, in the handler's chunks of {chunk // 1024} KiB:",
          flush=True)
    mine, theirs = interleaved(handler, reference, settle=os.sync)
    section.add(Figure(
        "SHA-256 and spool writes in the upload handler", "MB/s", mine,
        "hashlib over the same chunks and the same writes into a spool file in the same folder", theirs,
        Target("ratio", ">=", TARGET),
    ))
    import ssl

    section.versions = {"OpenSSL": ssl.OPENSSL_VERSION.split()[1]}
    section.setup = {"spool folder": "the data dir's tmp/ (a temporary data dir)", "data": f"{SIZE_MB} MB random"}
    section.notes = (
        f"{SIZE_MB} MB of random bytes in memory, fed in the handler's {chunk // 1024} KiB chunks, so only the "
        "hashing and the writes are timed, not a socket."
    )
    section.save()


if __name__ == "__main__":
    main()
