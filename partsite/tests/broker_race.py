"""Publishers and a worker hammering the embedded broker at once (run by test_broker.py).

python -m partsite.tests.broker_race MESSAGES: a reader process takes messages off a queue
while two publisher processes, each with four threads publishing and one busy thread (as in a
threaded gunicorn worker), put MESSAGES messages on it. On kombu's filesystem transport (the
embedded broker before issue 18) the reader soon opens a message file not yet written and dies. The publishers are forked after this
process has used the broker, as a Celery worker forks its pool. Prints one JSON line: what was
sent, what arrived, and the reader's error if it died.
"""

import json
import multiprocessing
import sys
import threading
import time
from queue import Empty

import django

QUEUE = "broker-race"
PUBLISHERS, THREADS = 2, 4


def _busy(stop):
    while not stop.is_set():
        pass


def _publish(ids, start):
    from partsite.celery import app

    stop = threading.Event()
    # The busy thread keeps the GIL for up to this long each time (5 ms by default), as a
    # loaded machine would: what a publisher leaves half-done, it leaves so for that long.
    sys.setswitchinterval(0.02)
    threading.Thread(target=_busy, args=(stop,), daemon=True).start()
    start.wait()

    def send(chunk):
        with app.connection_for_write() as connection, connection.SimpleQueue(QUEUE) as queue:
            for message_id in chunk:
                queue.put({"id": message_id})
                time.sleep(0.005)  # a trickle the reader keeps up with, as uploads are

    threads = [threading.Thread(target=send, args=(ids[n::THREADS],)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()


def _read(expected, ready, start, results):
    from partsite.celery import app

    received, error = [], None
    with app.connection_for_read() as connection, connection.SimpleQueue(QUEUE) as queue:
        ready.set()
        start.wait()
        deadline = time.monotonic() + 60
        while len(received) < expected and time.monotonic() < deadline:
            try:
                message = queue.get(timeout=1)
            except Empty:
                continue
            except Exception as failure:  # what killed the worker in issue 18: reported, not raised
                error = f"{type(failure).__name__}: {failure}"
                break
            received.append(message.payload["id"])
            message.ack()
    results.put((received, error))


def main(count):
    django.setup()
    from partsite.celery import app

    with app.connection_for_write() as connection, connection.SimpleQueue(QUEUE) as queue:
        queue.put({"id": "before-the-fork"})
        queue.get(timeout=10).ack()

    fork = multiprocessing.get_context("fork")
    ready, start, results = fork.Event(), fork.Event(), fork.Queue()
    ids = [f"{publisher}-{n}" for publisher in range(PUBLISHERS) for n in range(count // PUBLISHERS)]
    reader = fork.Process(target=_read, args=(len(ids), ready, start, results))
    reader.start()
    ready.wait(30)
    publishers = [
        fork.Process(target=_publish, args=(ids[n::PUBLISHERS], start)) for n in range(PUBLISHERS)
    ]
    for publisher in publishers:
        publisher.start()
    start.set()
    for publisher in publishers:
        publisher.join()
    received, error = results.get(timeout=90)
    reader.join()
    print(json.dumps({
        "sent": len(ids), "received": len(set(received)), "duplicates": len(received) - len(set(received)),
        "missing": sorted(set(ids) - set(received))[:10], "reader_error": error,
        "publishers_ok": all(publisher.exitcode == 0 for publisher in publishers),
    }))


if __name__ == "__main__":
    main(int(sys.argv[1]))
