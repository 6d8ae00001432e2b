"""The reference for uploads on local disk: an HTTP PUT of the bytes into the storage folder.

Local disk has no PUT of its own, so bench/run.py starts this, the least a server can do
with an upload: a WSGI app under gunicorn with Partsite's settings (partsite.gunicorn, one
worker, as the benchmark runs Partsite) that writes the request body, 1 MiB at a time, to
a file of the name in the URL in BENCH_PUT_ROOT (the storage folder's revisions/). Against
it the simple upload pays only for what Partsite does beyond receiving and writing the
bytes: parsing the multipart body, hashing, checking, moving the file into place.
A GET of a file there sends it back through gunicorn's file wrapper (sendfile()): the
least a server can do for a download, over the same loopback socket as Partsite's.

    BENCH_PUT_ROOT=/tmp/x BIND=127.0.0.1:8001 gunicorn bench.put_server:app -c python:partsite.gunicorn
"""

import os
from pathlib import Path

CHUNK_BYTES = 1024 * 1024


def app(environ, start_response):
    target = Path(os.environ["BENCH_PUT_ROOT"]) / Path(environ["PATH_INFO"]).name
    if environ["REQUEST_METHOD"] == "GET" and target.is_file():  # the file back, as gunicorn sends files
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(target.stat().st_size))])
        return environ["wsgi.file_wrapper"](open(target, "rb"), CHUNK_BYTES)
    if environ["REQUEST_METHOD"] != "PUT":  # anything else: "up and running"
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"ok\n"]
    left = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"]
    with open(target, "wb") as out:
        while left > 0 and (chunk := body.read(min(CHUNK_BYTES, left))):
            out.write(chunk)
            left -= len(chunk)
    if left:
        target.unlink()
        start_response("400 Bad Request", [("Content-Length", "0")])
        return [b""]
    start_response("201 Created", [("Content-Length", "0")])
    return [b""]
