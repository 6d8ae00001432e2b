"""The embedded broker (partsite/broker.py) under a stampede and one message at a time, beside Redis.

Issue 18's stampede: two publisher processes, each with four publishing threads and one busy
thread, send 60 messages a thread 5 ms apart while one reader process drains the queue; the
figure is how many of them never arrived (the filesystem transport lost most of them and its
reader died; kombu's stock SQLAlchemy transport failed publishes with "database is locked").
One message at a time: a message is published at every point of the reader's polling cycle,
as an upload's conversion is, and the figures are the time from the publish to its receipt
(the median of a batch) and the publish call itself.

The transports measured are the embedded broker and every Redis of BENCH_BROKER_URL (the
reference: what CELERY_BROKER_URL offers instead), taking turns sample by sample; a Redis
that does not answer is left out, saying so. BENCH_BROKER_CANDIDATES=filesystem,sqla adds
the candidates partsite/broker.py was chosen over (kombu's filesystem and stock SQLAlchemy
transports), in a table: slow (the stock transport polls once a second), so not by default.
"""

import multiprocessing
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from queue import Empty

from kombu import Connection

from bench.harness import QUICK, SAMPLES, Figure, Section, Target, envlist, markdown_table, percentile, spread
from bench.site import without_password
from partsite import broker  # makes the partsite+sqlite URL known to kombu

BROKERS = envlist("BENCH_BROKER_URL", "embedded,redis://127.0.0.1:6379/15")
CANDIDATES = envlist("BENCH_BROKER_CANDIDATES", "")
PUBLISHERS, THREADS, PER_THREAD = 2, 4, 60
SINGLE = 20 if QUICK else 40
# The embedded transport polls every 0.1 s (partsite/broker_transport.py): a message should arrive within it.
WAIT_TARGET_MS = 100
# A publish on a kept connection takes a few ms; one that opens a connection (a WAL checkpoint) 25 ms.
PUBLISH_TARGET_MS = 10
EMBEDDED_NAME = "the embedded broker"


class Transport:
    """One kombu transport under test, on a folder (or Redis key prefix) of its own."""

    def __init__(self, kind, folder, url=None):
        self.kind, self.root, self.url = kind, Path(folder), url
        self.folder, self.generation = self.root / "0", 0
        self.prefix = f"partsite-bench-{uuid.uuid4().hex[:8]}:"
        self.name = {"partsite": EMBEDDED_NAME, "filesystem": "kombu's filesystem transport",
                     "sqla": "kombu's SQLAlchemy transport (SQLite)"}.get(kind, "Redis")
        self.where = without_password(url) if url else {
            "partsite": broker.url("<a new SQLite file for each measurement>"),
            "filesystem": "filesystem://, a new folder for each measurement",
            "sqla": "sqla+sqlite:///<a new SQLite file for each measurement>"}[kind]

    def connect(self):
        if self.kind == "filesystem":
            folders = {option: str(self.folder / "fs") for option in ("data_folder_in", "data_folder_out")}
            return Connection("filesystem://", transport_options={
                **folders, "processed_folder": str(self.folder / "fs-processed"),
                "control_folder": str(self.folder / "fs-control"), "store_processed": False, "polling_interval": 0.1,
            })
        if self.kind == "sqla":
            return Connection(f"sqla+sqlite:///{self.folder / 'stock.sqlite3'}")
        if self.kind == "partsite":
            return Connection(broker.url(self.folder / "partsite.sqlite3"))
        # Keys of its own, as the conversion's site has: a shared Redis's other queues are left alone.
        return Connection(self.url, transport_options={"global_keyprefix": self.prefix})

    def fresh(self):
        """An empty broker before each measurement: Redis's keys deleted, or new files in a new folder
        (kombu's SQLAlchemy transport remembers, per URL and process, that it made its tables)."""
        if self.kind == "redis":
            self.forget()
            return
        self.generation += 1
        self.folder = self.root / str(self.generation)
        for folder in ("fs", "fs-processed", "fs-control"):
            (self.folder / folder).mkdir(parents=True)

    def forget(self):
        if self.kind == "redis":
            import redis

            client = redis.Redis.from_url(self.url)
            for key in client.scan_iter(match=f"{self.prefix}*"):
                client.delete(key)


def redis_answers(url):
    """None when Redis answers, else why not."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
        return None
    except (redis.RedisError, OSError) as error:
        return str(error)


def _busy(stop):
    while not stop.is_set():
        pass


def _publish(transport, start, failures):
    stop = threading.Event()
    threading.Thread(target=_busy, args=(stop,), daemon=True).start()
    start.wait()

    def send(thread):
        with transport.connect() as connection, connection.SimpleQueue("bench") as queue:
            for number in range(PER_THREAD):
                try:
                    queue.put({"id": f"{os.getpid()}-{thread}-{number}", "at": time.time()})
                except Exception:  # counted: a publish that failed is a message that never arrived
                    failures.put(1)
                time.sleep(0.005)  # a trickle the reader keeps up with, as uploads are

    threads = [threading.Thread(target=send, args=(thread,)) for thread in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()


def _read(transport, expected, ready, start, done, results):
    received, waits, error = [], [], None
    with transport.connect() as connection, connection.SimpleQueue("bench") as queue:
        ready.set()
        start.wait()
        deadline = time.monotonic() + 90
        while len(received) < expected and time.monotonic() < deadline:
            try:
                message = queue.get(timeout=1)
            except Empty:
                continue
            except Exception as failure:  # the reader's death is the finding
                error = f"{type(failure).__name__}: {failure}"
                break
            received.append(message.payload["id"])
            waits.append(time.time() - message.payload["at"])
            message.ack()
            done.set()
    results.put((received, waits, error))


def stampede(transport):
    """(messages lost of those sent, publishes that failed, the reader's error or None)."""
    transport.fresh()
    fork = multiprocessing.get_context("fork")
    ready, start, done, results, failures = fork.Event(), fork.Event(), fork.Event(), fork.Queue(), fork.Queue()
    expected = PUBLISHERS * THREADS * PER_THREAD
    reader = fork.Process(target=_read, args=(transport, expected, ready, start, done, results))
    reader.start()
    ready.wait(30)
    publishers = [fork.Process(target=_publish, args=(transport, start, failures)) for _ in range(PUBLISHERS)]
    for publisher in publishers:
        publisher.start()
    start.set()
    for publisher in publishers:
        publisher.join()
    received, _, error = results.get(timeout=120)
    reader.join()
    failed = 0
    while not failures.empty():
        failed += failures.get()
    return expected - len(set(received)), failed, error


def one_at_a_time(transport):
    """(each message's wait from publish to receipt, each publish call), in ms."""
    transport.fresh()
    fork = multiprocessing.get_context("fork")
    ready, start, done, results = fork.Event(), fork.Event(), fork.Event(), fork.Queue()
    reader = fork.Process(target=_read, args=(transport, SINGLE, ready, start, done, results))
    reader.start()
    ready.wait(30)
    start.set()
    calls = []
    with transport.connect() as connection, connection.SimpleQueue("bench") as queue:
        for number in range(SINGLE):
            time.sleep(0.05 + (number % 7) * 0.013)  # at every point of the reader's polling cycle
            done.clear()
            began = time.perf_counter()
            queue.put({"id": str(number), "at": time.time()})
            calls.append((time.perf_counter() - began) * 1000)
            done.wait(10)
    _, waits, _ = results.get(timeout=60)
    reader.join()
    return [wait * 1000 for wait in waits], calls


def measure(transport, into):
    lost, failed, error = stampede(transport)
    waits, calls = one_at_a_time(transport)
    for name, value in (("lost", lost), ("failed", failed), ("wait", statistics.median(waits)),
                        ("wait p90", percentile(waits, 0.9)), ("publish", statistics.median(calls))):
        into.setdefault(name, []).append(value)
    into.setdefault("errors", []).append(error)


def main():
    section = Section("broker", "The embedded broker")
    scratch = Path(tempfile.mkdtemp(prefix="partsite-bench-broker-"))
    transports, left_out = [], []
    for entry in BROKERS:
        if entry == "embedded":
            transports.append(Transport("partsite", scratch / "embedded"))
        elif entry.startswith("redis"):
            if problem := redis_answers(entry):
                left_out.append(f"{without_password(entry)}: no Redis answers ({problem})")
                print(f"Redis at {without_password(entry)} left out: {problem}", flush=True)
            else:
                transports.append(Transport("redis", scratch / "redis", entry))
    if not any(transport.kind == "partsite" for transport in transports):
        transports.insert(0, Transport("partsite", scratch / "embedded"))
    candidates = [Transport(kind, scratch / kind) for kind in CANDIDATES]
    results = {id(transport): {} for transport in transports + candidates}
    try:
        for sample in range(SAMPLES):
            turn = transports if sample % 2 == 0 else list(reversed(transports))
            for transport in turn + candidates:
                measure(transport, results[id(transport)])
            print(f"  sample {sample + 1} of {SAMPLES}: " + "; ".join(
                f"{transport.name}: {results[id(transport)]['lost'][-1]} lost, "
                f"{results[id(transport)]['wait'][-1]:.0f} ms wait" for transport in transports + candidates),
                flush=True)
    finally:
        for transport in transports + candidates:
            transport.forget()
        shutil.rmtree(scratch, ignore_errors=True)
    embedded = results[id(transports[0])]
    redis = next((results[id(transport)] for transport in transports if transport.kind == "redis"), None)
    stampede_words = (f"{PUBLISHERS} processes × {THREADS} threads × {PER_THREAD} messages, "
                      f"{PUBLISHERS * THREADS * PER_THREAD} in all")
    section.add(Figure(
        f"Messages lost by {EMBEDDED_NAME} in a stampede ({stampede_words})", "messages", embedded["lost"],
        target=Target("figure", "<=", 0),
        note="sent, never received: a publish that failed or a reader that died counts every message it missed",
    ))
    for measured, words, target, note in (
        ("wait", "publish to receipt, one message at a time (median of a batch)", WAIT_TARGET_MS,
         "the embedded transport polls every 0.1 s; Redis delivers as the message arrives"),
        ("publish", "a publish call (median of a batch)", PUBLISH_TARGET_MS,
         "on a kept connection; a connection per message (a WAL checkpoint each) took 25 ms"),
    ):
        section.add(Figure(
            f"{EMBEDDED_NAME.capitalize()}: {words}", "ms", embedded[measured],
            "the same through Redis (CELERY_BROKER_URL), taking turns" if redis else "",
            redis[measured] if redis else [], Target("figure", "<", target), decimals=1, note=note,
        ))
    section.setup = {transport.name: {"URL": transport.where} for transport in transports + candidates}
    section.tables.append(markdown_table(
        ("Transport", "Lost in the stampede", "Publishes that failed", "The reader", "Wait p50 (ms)", "Wait p90 (ms)",
         "Publish call (ms)"),
        [(transport.name, spread(results[id(transport)]["lost"]), spread(results[id(transport)]["failed"]),
          next((error for error in results[id(transport)]["errors"] if error), "carried on"),
          spread(results[id(transport)]["wait"]), spread(results[id(transport)]["wait p90"]),
          spread(results[id(transport)]["publish"], 1)) for transport in transports + candidates],
        numeric={1, 2, 4, 5, 6},
    ))
    section.notes = "\n\n".join([
        f"Median (min–max) of {SAMPLES} samples. A sample: the stampede ({stampede_words}, each thread's messages "
        f"5 ms apart, one busy thread per publisher, one reader process draining), then {SINGLE} messages one at a "
        "time, each once the reader has the previous one, at every point of its polling cycle. The transports take "
        "turns sample by sample.",
        *(["Left out: " + "; ".join(left_out) + "."] if left_out else []),
    ])
    section.save()


if __name__ == "__main__":
    main()
