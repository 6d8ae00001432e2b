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
