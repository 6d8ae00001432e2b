"""SHA-256 during an upload against hashlib alone, over the same bytes on this machine.

The upload path is files.upload_handler.DigestingUploadHandler as Django drives it: chunks
of its chunk_size, each digested (size, SHA-256, head) and written to the spool file. The
references are hashlib over the same bytes in 1 MiB pieces, and hashlib plus the same
spool writes. Best of three runs each, alternating.
"""

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partsite.settings")
os.environ.setdefault("PARTSITE_DATA_DIR", tempfile.mkdtemp(prefix="partsite-bench-hash-"))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from bench.results import QUICK, Finding, Section, markdown_table  # noqa: E402
from files.storage import Digest  # noqa: E402
from files.upload_handler import DigestingUploadHandler  # noqa: E402

MIB = 2**20
SIZE_MB = 64 if QUICK else 256
RUNS = 3
TARGET = 0.9


def through_the_handler(data, chunk):
    handler = DigestingUploadHandler()
    handler.new_file("file", "bench.step", "model/step", len(data))
    for start in range(0, len(data), chunk):
        handler.receive_data_chunk(data[start:start + chunk], start)
    uploaded = handler.file_complete(len(data))
    uploaded.close()
    return uploaded.digest.sha256


def digest_only(data, chunk):
    digest = Digest()
    for start in range(0, len(data), chunk):
        digest.update(data[start:start + chunk])
    return digest.sha256


def hashlib_only(data, chunk=MIB):
    sha256 = hashlib.sha256()
    for start in range(0, len(data), chunk):
        sha256.update(data[start:start + chunk])
    return sha256.hexdigest()


def hashlib_and_spool(data, chunk):
    sha256 = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as spool:
        for start in range(0, len(data), chunk):
            piece = data[start:start + chunk]
            sha256.update(piece)
            spool.write(piece)
    return sha256.hexdigest()


def best_seconds(action, *args):
    best = float("inf")
    for _ in range(RUNS):
        started = time.perf_counter()
        result = action(*args)
        best = min(best, time.perf_counter() - started)
    return best, result


def main():
    data = os.urandom(SIZE_MB * MIB)
    chunk = DigestingUploadHandler.chunk_size
    print(f"SHA-256 of {SIZE_MB} MB in memory, the handler's chunks of {chunk // 1024} KiB, best of {RUNS}:")
    expected = hashlib.sha256(data).hexdigest()
    figures = {}
    for name, action, args in [
        ("hashlib, 1 MiB pieces", hashlib_only, (data,)),
        ("Digest.update, as the handler hashes", digest_only, (data, chunk)),
        ("hashlib + writing the spool file", hashlib_and_spool, (data, chunk)),
        ("DigestingUploadHandler (hash + spool)", through_the_handler, (data, chunk)),
    ]:
        seconds, sha256 = best_seconds(action, *args)
        assert sha256 == expected, f"{name} computed another SHA-256"
        figures[name] = SIZE_MB / seconds
        print(f"  {name:<40} {figures[name]:7.0f} MB/s", flush=True)
    hashing = figures["Digest.update, as the handler hashes"] / figures["hashlib, 1 MiB pieces"]
    handler = figures["DigestingUploadHandler (hash + spool)"] / figures["hashlib + writing the spool file"]
    findings = [
        Finding("SHA-256 during upload (Digest in the upload handler)",
                f"{figures['Digest.update, as the handler hashes']:.0f} MB/s",
                f"{figures['hashlib, 1 MiB pieces']:.0f} MB/s (hashlib)", hashing, f">= {TARGET}", hashing >= TARGET),
        Finding("SHA-256 and spooling during upload (DigestingUploadHandler)",
                f"{figures['DigestingUploadHandler (hash + spool)']:.0f} MB/s",
                f"{figures['hashlib + writing the spool file']:.0f} MB/s (hashlib + the same writes)", handler),
    ]
    details = (
        f"{SIZE_MB} MB of random bytes in memory, fed in the handler's {chunk // 1024} KiB chunks; "
        f"best of {RUNS} runs.\n\n"
        + markdown_table(("Path", "MB/s"), [(name, f"{rate:.0f}") for name, rate in figures.items()], numeric={1})
    )
    Section("sha256", "SHA-256 during upload", findings, details, versions={"OpenSSL": _openssl()}).save()


def _openssl():
    import ssl

    return ssl.OPENSSL_VERSION.split()[1]


if __name__ == "__main__":
    main()
