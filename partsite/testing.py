"""Helpers for tests across the apps."""

import threading
from http.server import ThreadingHTTPServer

from django.db import connection

# The ports the tests' own servers (webhook receivers, a fake Onshape, clamd) may listen on.
PORTS = range(8700, 8800)


def all_at_once(function, arguments, timeout=60):
    """Call function(argument) for each argument at the same moment, each on its own thread
    and database connection. Returns what each call returned or raised, in order."""
    together = threading.Barrier(len(arguments))
    outcomes = [None] * len(arguments)

    def call(index, argument):
        try:
            together.wait()
            outcomes[index] = function(argument)
        except Exception as error:  # the caller inspects every outcome
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=item) for item in enumerate(arguments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return outcomes


def listening(handler):
    """A threaded HTTP server with `handler` on the first free port of PORTS, serving in the background."""
    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:
            continue
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")
