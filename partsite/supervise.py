"""Runs supervisord in a session of its own and stops it when this process is told to stop;
and where the site's Unix sockets go.

`manage.py serve` hands over to this script (by exec) once the site is prepared; it imports
nothing but the standard library, so it stays small and exits at once. Ctrl-C in the terminal
(SIGINT), SIGTERM and a closed terminal's SIGHUP reach this process alone, and each becomes the
signal supervisord takes as "stop everything" (SIGTERM). supervisord itself, in the terminal's
process group, would take SIGHUP as "restart everything" and run on with no terminal.

    python partsite/supervise.py SUPERVISORD CONFIG
"""

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

# Linux takes at most 107 bytes for the path of a Unix socket.
SOCKET_PATH_LIMIT = 100


def socket_path(path):
    """`path` for a Unix socket, or, when a deep data dir makes it too long, a path in the
    temporary folder named after it (so still one per data dir)."""
    if len(os.fsencode(path)) <= SOCKET_PATH_LIMIT:
        return Path(path)
    digest = hashlib.sha256(os.fsencode(path)).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"partsite-{digest}-{Path(path).name}"


def main(supervisord, config):
    supervisor = None
    asked_to_stop = False

    def stop(*_):
        nonlocal asked_to_stop
        asked_to_stop = True
        if supervisor is not None:
            supervisor.terminate()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    supervisor = subprocess.Popen([supervisord, "--configuration", config], start_new_session=True)
    if asked_to_stop:
        supervisor.terminate()
    return supervisor.wait()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
