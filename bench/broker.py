"""The embedded broker's candidates side by side (how partsite/broker.py was chosen).

For each kombu transport: the stampede of issue 18 (two publisher processes, each with four
publishing threads and one busy thread, 60 messages a thread 5 ms apart, while one reader drains the queue:
messages that arrived, and the reader's error if it died) and one message at a time (the time
from publish to receipt, as an upload's conversion waits for it, and the publish call itself).

    .venv/bin/python bench/broker.py [filesystem] [sqla] [partsite] [redis]

Redis (redis://127.0.0.1:6379/15, or BENCH_REDIS_URL) is measured when it answers.
"""

import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty

from kombu import Connection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from partsite import broker  # noqa: E402  (makes the partsite+sqlite URL known to kombu)

FOLDER = Path(tempfile.mkdtemp(prefix="partsite-bench-broker-"))
PUBLISHERS, THREADS, PER_THREAD, SINGLE = 2, 4, 60, 40


def connect(name):
    if name == "filesystem":
        folders = {option: str(FOLDER / "fs") for option in ("data_folder_in", "data_folder_out")}
        return Connection("filesystem://", transport_options={
            **folders, "processed_folder": str(FOLDER / "fs-processed"), "control_folder": str(FOLDER / "fs-control"),
            "store_processed": False, "polling_interval": 0.1,
        })
    if name == "sqla":
        return Connection(f"sqla+sqlite:///{FOLDER / 'stock.sqlite3'}")
    if name == "partsite":
        return Connection(broker.url(FOLDER / "partsite.sqlite3"))
    return Connection(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))


def _busy(stop):
    while not stop.is_set():
        pass


def _publish(name, start, failures):
    stop = threading.Event()
    threading.Thread(target=_busy, args=(stop,), daemon=True).start()
    start.wait()

    def send(thread):
        with connect(name) as connection, connection.SimpleQueue("bench") as queue:
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


def _read(name, expected, ready, start, done, results):
    received, waits, error = [], [], None
    with connect(name) as connection, connection.SimpleQueue("bench") as queue:
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


def _fresh():
    shutil.rmtree(FOLDER, ignore_errors=True)
    for folder in ("fs", "fs-processed", "fs-control"):
        (FOLDER / folder).mkdir(parents=True)


def stampede(name):
    _fresh()
    fork = multiprocessing.get_context("fork")
    ready, start, done, results, failures = fork.Event(), fork.Event(), fork.Event(), fork.Queue(), fork.Queue()
    expected = PUBLISHERS * THREADS * PER_THREAD
    reader = fork.Process(target=_read, args=(name, expected, ready, start, done, results))
    reader.start()
    ready.wait(30)
    publishers = [fork.Process(target=_publish, args=(name, start, failures)) for _ in range(PUBLISHERS)]
    for publisher in publishers:
        publisher.start()
    started = time.monotonic()
    start.set()
    for publisher in publishers:
        publisher.join()
    seconds = time.monotonic() - started
    received, _, error = results.get(timeout=120)
    reader.join()
    failed = 0
    while not failures.empty():
        failed += failures.get()
    return expected, len(set(received)), failed, error, seconds


def one_at_a_time(name):
    _fresh()
    fork = multiprocessing.get_context("fork")
    ready, start, done, results = fork.Event(), fork.Event(), fork.Event(), fork.Queue()
    reader = fork.Process(target=_read, args=(name, SINGLE, ready, start, done, results))
    reader.start()
    ready.wait(30)
    start.set()
    calls = []
    with connect(name) as connection, connection.SimpleQueue("bench") as queue:
        for number in range(SINGLE):
            time.sleep(0.05 + (number % 7) * 0.013)  # at every point of the reader's polling cycle
            done.clear()
            began = time.perf_counter()
            queue.put({"id": str(number), "at": time.time()})
            calls.append(time.perf_counter() - began)
            done.wait(10)
    _, waits, _ = results.get(timeout=60)
    reader.join()
    return statistics.median(waits), sorted(waits)[int(len(waits) * 0.9)], statistics.median(calls)


def main(names):
    print("| transport | stampede: arrived of sent | publishes that failed | reader | one message: p50 / p90 wait | publish call |")
    print("|---|---|---|---|---|---|")
    for name in names:
        if name == "redis":
            try:
                with connect(name) as connection:
                    connection.ensure_connection(max_retries=0)
            except Exception as error:  # no Redis here: say so and go on
                print(f"| redis | not measured: {error} | | | | |")
                continue
        sent, arrived, failed, error, seconds = stampede(name)
        p50, p90, call = one_at_a_time(name)
        print(f"| {name} | {arrived} of {sent} in {seconds:.1f} s | {failed} | {error or 'carried on'} | "
              f"{p50 * 1000:.0f} / {p90 * 1000:.0f} ms | {call * 1000:.1f} ms |", flush=True)
    shutil.rmtree(FOLDER, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["filesystem", "sqla", "partsite", "redis"])
