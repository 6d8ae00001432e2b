"""Gunicorn settings for `make run` and production (`gunicorn -c python:partsite.gunicorn`)."""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", 2))
threads = int(os.environ.get("WEB_THREADS", 4))
worker_class = "gthread"
accesslog = "-"
# %(U)s is the path without its query string: a query string may carry a signature
# (upload and download links) or an API key that a careless client put in the URL.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'

# glibc gives each thread that allocates its own malloc arena (up to 8 per core), and the
# threads of a request and of boto3's uploads to S3 each keep megabytes in theirs: with
# two arenas, a worker that has sent a 500 MB file to S3 holds about 140 MB instead of 165
# (bench/RESULTS.md). Set here, in the master, so that every worker forked from it inherits it.
try:
    import ctypes

    _M_ARENA_MAX = -8
    ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, int(os.environ.get("MALLOC_ARENA_MAX", 2)))
except (OSError, AttributeError):  # not glibc: its allocator has no arenas to cap
    pass
