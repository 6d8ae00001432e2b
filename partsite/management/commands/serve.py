"""manage.py serve: the whole site on one machine, as `make run` starts it.

supervisord runs the web server (gunicorn), a Celery worker and Celery beat, and starts again
any of them that dies, while the others carry on. Its configuration, socket and log are in
the data dir's `run/` folder, so two sites with two data dirs run side by side. Once the site is
prepared, this command becomes partsite/supervise.py, which stays in the foreground: Ctrl-C (or
SIGTERM, or closing the terminal) stops everything.
"""

import os
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connections

from partsite import broker
from partsite.celery import app
from partsite.supervise import socket_path

BIN = Path(sys.executable).parent
# Each process gets this long to stop before supervisord kills it and its children; with
# supervisord's own second to notice, Ctrl-C ends everything within 5 s. (An idle worker needs
# about as long; one in the middle of a conversion is killed, and the conversion queued again
# by the periodic re-queue.)
STOP_SECONDS = 2


def programs():
    """{name: (command, the signal that stops it)}."""
    queues = ",".join(settings.CELERY_TASK_QUEUES)
    return {
        # SIGQUIT: gunicorn's quick shutdown (SIGTERM would let downloads run on for 30 s).
        "web": ([BIN / "gunicorn", "partsite.wsgi", "--config", "python:partsite.gunicorn"], "QUIT"),
        # SIGTERM: Celery's warm shutdown.
        "worker": (
            [BIN / "celery", "--quiet", "--app", "partsite", "worker", "--queues", queues,
             "--concurrency", "2", "--loglevel", "INFO"],
            "TERM",
        ),
        # Beat runs on its own, not inside the worker (`--beat`): a worker killed outright
        # would leave its beat running, and the restarted worker would start a second one.
        "scheduler": ([BIN / "celery", "--quiet", "--app", "partsite", "beat", "--loglevel", "INFO"], "TERM"),
    }


def supervisord_config(run_dir):
    control = socket_path(run_dir / "supervisord.sock")
    sections = [
        f"""[supervisord]
nodaemon = true
; Its own lines (spawned, exited) go to its log file, not among the JSON lines on the console.
silent = true
logfile = {run_dir / "supervisord.log"}
logfile_maxbytes = 1MB
logfile_backups = 1
pidfile = {run_dir / "supervisord.pid"}
directory = {settings.BASE_DIR}

; supervisorctl --configuration {run_dir / "supervisord.conf"} status
; The socket also keeps a second `serve` from starting on the same data dir.
[unix_http_server]
file = {control}
chmod = 0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://{control}

; One group, so that stopping stops all of them at once rather than one after another.
[group:partsite]
programs = {",".join(programs())}
"""
    ]
    for name, (command, stop_signal) in programs().items():
        sections.append(f"""[program:{name}]
command = {" ".join(str(part) for part in command)}
autorestart = true
startretries = 5
stopsignal = {stop_signal}
stopwaitsecs = {STOP_SECONDS}
; The stop signal goes to the process alone (a Celery worker stops its pool processes itself,
; and would log their deaths as errors); a kill goes to all of its processes.
killasgroup = true
redirect_stderr = true
stdout_logfile = /dev/stdout
stdout_logfile_maxbytes = 0
""")
    return "\n".join(sections)


class Command(BaseCommand):
    help = "Run the web server, a worker and the scheduler under supervision, until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 serves every address of this machine.")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, host, port, **options):
        run_dir = settings.DATA_DIR / "run"
        run_dir.mkdir(exist_ok=True)
        config = run_dir / "supervisord.conf"
        config.write_text(supervisord_config(run_dir))
        if broker.is_embedded(settings.CELERY_BROKER_URL):
            self._create_queues()
        self.stdout.write(self._banner(host, port))
        self.stdout.flush()
        connections.close_all()  # nothing of this process outlives the exec below

        environment = {
            **os.environ,
            "PARTSITE_DATA_DIR": str(settings.DATA_DIR),
            "HOST": host,  # settings.ALLOWED_HOSTS follows it
            "BIND": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        }
        launcher = Path(__file__).resolve().parents[2] / "supervise.py"
        os.execve(sys.executable, [sys.executable, launcher, BIN / "supervisord", config], environment)

    @staticmethod
    def _create_queues():
        """The broker's tables and queues, before several processes race to create them."""
        with app.connection_for_write() as connection:
            for queue in settings.CELERY_TASK_QUEUES:
                connection.default_channel.queue_declare(queue=queue)

    @staticmethod
    def _banner(host, port):
        local = "127.0.0.1" if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host
        lines = [f"Partsite on http://{local}:{port}/  (admin: /admin/, API docs: /api/docs/). Ctrl-C stops it."]
        if host in ("0.0.0.0", "::"):
            lines.append(f"Also on every other address of this machine, port {port}, under any name "
                         f"(set ALLOWED_HOSTS to restrict the names).")
        lines.append(f"Data: {settings.DATA_DIR}")
        if not get_user_model().objects.exists():
            lines += [
                "No one can sign in yet. Make the first lead, in another terminal:",
                "    .venv/bin/python manage.py createuser alice --role lead --password 'a long password'",
            ]
        return "\n".join(lines)
