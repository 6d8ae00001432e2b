"""How busy the machine was: the shared services a section drives are counted apart from other processes."""

import subprocess
import sys
import time

from bench.machine import Busy

# A child that names itself as a shared service (prctl PR_SET_NAME, as `ps` and /proc show it), burns a
# second of CPU, says so, and waits to be told to end: alive, so its time is not yet this process's own.
SERVICE = """
import ctypes, sys, time
ctypes.CDLL(None).prctl(15, b"redis-server", 0, 0, 0)
ended = time.process_time() + 1.0
while time.process_time() < ended:
    pass
print("burnt", flush=True)
sys.stdin.read()
"""


def test_the_cpu_a_shared_service_takes_is_the_benchmarks_not_a_busy_machines():
    busy = Busy()
    service = subprocess.Popen([sys.executable, "-c", SERVICE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert service.stdout.readline() == "burnt\n"
        time.sleep(0.1)
        stretch = busy.end()
    finally:
        service.communicate("")

    # The second it burnt is in the services column, and taken out of the others': whatever else the
    # machine ran meanwhile (another test worker, say) may fill either column, never empty one.
    busy_seconds = stretch["cores_busy"] * stretch["seconds"]
    services_seconds = stretch["cores_busy_services"] * stretch["seconds"]
    others_seconds = stretch["cores_busy_others"] * stretch["seconds"]
    assert services_seconds >= 0.9
    assert others_seconds <= busy_seconds - 0.9
