"""Helpers for tests across the apps."""

import threading

from django.db import connection


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
