"""The least a server can do with an upload or a download: the transfers' reference on local disk.

A WSGI app that bench/transfers.py starts under gunicorn with Partsite's settings
(partsite.gunicorn, one worker, as the benchmark runs Partsite). A PUT writes the request
body, 1 MiB at a time, to a file of the name in the URL in BENCH_MINIMAL_ROOT (a folder on
the same file system as Partsite's storage), learning its SHA-256 on the way, and answers
with it (the benchmark checks it); a GET sends such a file back through gunicorn's file
wrapper, that is with sendfile(), as Partsite sends a local download. The SHA-256 is the
least any server for this job must do beyond storing the bytes: Partsite promises each
file's server-side SHA-256, so a reference without it would count a promise as overhead.
Against it an upload through Partsite pays only for what it does beyond receiving, hashing
and writing the bytes (parsing the multipart body, checking, recording), and a download
only for what it does beyond sending them (authenticating, auditing, opening the file).

    BENCH_MINIMAL_ROOT=/tmp/x BIND=127.0.0.1:8401 gunicorn bench.minimal_server:app -c python:partsite.gunicorn
"""

import hashlib
import os
from pathlib import Path

CHUNK_BYTES = 1024 * 1024


def app(environ, start_response):
    target = Path(os.environ["BENCH_MINIMAL_ROOT"]) / Path(environ["PATH_INFO"]).name
    method = environ["REQUEST_METHOD"]
    if method == "GET" and target.is_file():
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(target.stat().st_size))])
        return environ["wsgi.file_wrapper"](open(target, "rb"), CHUNK_BYTES)
    if method != "PUT":  # anything else: "up and running"
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"ok\n"]
    left = int(environ.get("CONTENT_LENGTH") or 0)
    body, sha256 = environ["wsgi.input"], hashlib.sha256()
    with open(target, "wb") as out:
        while left > 0 and (chunk := body.read(min(CHUNK_BYTES, left))):
            sha256.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    if left:
        target.unlink()
        start_response("400 Bad Request", [("Content-Length", "0")])
        return [b""]
    digest = sha256.hexdigest().encode()
    start_response("201 Created", [("Content-Type", "text/plain"), ("Content-Length", str(len(digest)))])
    return [digest]
