"""Gunicorn settings for `make run` and production (`gunicorn -c python:partsite.gunicorn`)."""

import os

from django.conf import settings

from partsite.supervise import socket_path

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", 2))
threads = int(os.environ.get("WEB_THREADS", 4))
worker_class = "gthread"
# How long an idle kept-alive connection stays open. gunicorn's default, 2 s, is shorter than the
# pauses of a person or a polling page, so a client often sends on a connection the server is
# closing that moment and gets a reset (benoitc/gunicorn#1698); `make soak` saw a few per minute.
# Idle connections wait in the poller, not on a thread.
keepalive = int(os.environ.get("WEB_KEEPALIVE_SECONDS", 75))
# gunicorn's control socket (for gunicornc) defaults to one path per user account, which a
# second site on the same machine would take over and, when it stops, delete. One per data dir.
control_socket = str(socket_path(settings.DATA_DIR / "gunicorn.ctl"))

# Gunicorn's own lines (starting, workers booting and exiting) go out as Partsite's JSON lines.
# It writes no access log: Partsite logs one JSON line per request itself (partsite/logs.py),
# leaving out the probes and the query string, which may carry a signature or a careless
# client's API key.
logconfig_dict = {
    **settings.LOGGING,
    "loggers": {
        **settings.LOGGING.get("loggers", {}),
        "gunicorn.error": {"level": "INFO", "propagate": True},
        "gunicorn.access": {"level": "CRITICAL", "propagate": False},
    },
}

# glibc's malloc, tuned in the master so that every worker forked from it inherits it:
#
# - Arenas: glibc gives each thread that allocates its own arena (up to 8 per core), and the
#   threads of a request and of boto3's uploads to S3 each keep megabytes in theirs: with two
#   arenas, a worker that had sent a 500 MB file to S3 held about 140 MB instead of 163
#   (bench/NOTES.md, Uploads; `make bench` checks the peak, < 150 MB, every run).
# - Buffers of a transfer: a file arrives and leaves in 1 MiB chunks. Left to itself, glibc
#   maps each such chunk fresh from the kernel and hands it back when it is freed, or trims it
#   off the heap, so every 4 KiB page of a chunk costs a page fault: about 200,000 faults for
#   a 500 MB upload, and on a virtual machine that returns freed memory to its host the upload
#   ran at 374 MB/s instead of 618 (bench/NOTES.md, Page faults). Chunks up to 4 MiB come
#   from the heap, and up to 32 MiB of free heap is kept for the next ones; boto3's 8 MiB parts
#   are still mapped and unmapped whole, as before.
MALLOC_SETTINGS = {
    -8: int(os.environ.get("MALLOC_ARENA_MAX", 2)),  # M_ARENA_MAX
    -3: 4 * 1024 * 1024,  # M_MMAP_THRESHOLD (setting it also stops glibc moving it)
    -1: 32 * 1024 * 1024,  # M_TRIM_THRESHOLD
}
try:
    import ctypes

    _libc = ctypes.CDLL("libc.so.6")
    for _parameter, _value in MALLOC_SETTINGS.items():
        _libc.mallopt(_parameter, _value)
except (OSError, AttributeError):  # not glibc: another allocator, with settings of its own
    pass
