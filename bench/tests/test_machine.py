"""How busy the machine was: the shared services a section drives are counted apart from other processes."""

import subprocess
import sys
import time
from pathlib import Path

from bench import machine
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


def reporting_parameters(folder, **values):
    folder.mkdir()
    for name, value in values.items():
        (folder / name).write_text(f"{value}\n")
    return folder


def test_freed_memory_is_kept_for_the_run_and_the_kernels_setting_restored_after(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_PAGE_REPORTING", raising=False)
    parameters = reporting_parameters(tmp_path / "page_reporting", min_free_ms=0, page_reporting_order=9)
    with machine.FreedMemoryKept(parameters) as kept:
        assert (parameters / "min_free_ms").read_text() == str(machine.KEEP_FREED_MS)
        assert kept.words == "held off for the run: min_free_ms 0 → 300000, restored after"
    assert (parameters / "min_free_ms").read_text() == "0"
    assert (parameters / "page_reporting_order").read_text() == "9\n"


def test_a_mainline_kernel_reports_only_the_largest_blocks_for_the_run(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_PAGE_REPORTING", raising=False)
    parameters = reporting_parameters(tmp_path / "page_reporting", page_reporting_order=9)
    with machine.FreedMemoryKept(parameters):
        assert (parameters / "page_reporting_order").read_text() == machine.LARGEST_ORDER
    assert (parameters / "page_reporting_order").read_text() == "9"


def test_leave_leaves_the_kernels_setting_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_PAGE_REPORTING", "leave")
    parameters = reporting_parameters(tmp_path / "page_reporting", min_free_ms=0, page_reporting_order=9)
    with machine.FreedMemoryKept(parameters) as kept:
        assert (parameters / "min_free_ms").read_text() == "0\n"
    assert kept.words == "on, left as it is (BENCH_PAGE_REPORTING=leave): min_free_ms 0, page_reporting_order 9"


def test_a_machine_that_does_not_report_free_pages_is_said_to(tmp_path):
    with machine.FreedMemoryKept(tmp_path / "absent") as kept:
        assert kept.words.startswith("none")


def test_the_file_system_of_a_folder_is_named_with_its_mount_point(tmp_path):
    kind, at, mount_point = machine.file_system(tmp_path).split(" ", 2)
    assert at == "at" and kind and tmp_path.is_relative_to(mount_point)
    if Path("/dev/shm").is_mount():
        assert machine.file_system("/dev/shm") == "tmpfs at /dev/shm"
