"""`manage.py serve` (what `make run` starts): the web server, a worker and the scheduler under
supervisord, run here as real processes on a fresh data dir. A worker that dies comes back while
the site answers; Ctrl-C stops everything within 5 s; two sites run side by side; the console
is JSON lines."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from files.tests.samples import box_step
from partsite.testing import BIN, ROOT, fetch, free_port, manage, site_environment, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve")]
PASSWORD = "a long password for the lead"


class Site:
    def __init__(self, data_dir, port, process, output):
        self.data_dir, self.url, self.process, self.output = data_dir, f"http://127.0.0.1:{port}", process, output

    def console(self):
        return self.output.read_text(errors="replace")

    def pids(self):
        """{program: pid} of the programs supervisord reports running."""
        text = _supervisorctl(self.data_dir, "status")
        return {match[1]: int(match[2]) for match in re.finditer(r"partsite:(\w+)\s+RUNNING\s+pid (\d+)", text)}

    def processes(self):
        """Every process of the site: supervisord's descendants, as {pid: command line}."""
        supervisord = int((self.data_dir / "run" / "supervisord.pid").read_text())
        return _descendants(supervisord)

    def api(self, path, key, body=None):
        headers = {"X-API-Key": key}
        if body is not None:
            headers["Content-Type"], body = body
        status, _, content = fetch(f"{self.url}{path}", headers=headers, data=body)
        return status, json.loads(content) if content else None


def _supervisorctl(data_dir, *args):
    result = subprocess.run(
        [BIN / "supervisorctl", "--configuration", data_dir / "run" / "supervisord.conf", *args],
        capture_output=True, text=True, timeout=60,
    )
    return result.stdout


def _running(pid):
    """Whether the process runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _descendants(root):
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" (", 1)
            parent = int(rest.rsplit(") ", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append((int(pid), command))
    found, waiting = {}, [root]
    while waiting:
        for pid, command in children.get(waiting.pop(), []):
            found[pid] = command
            waiting.append(pid)
    return found


@contextmanager
def _served(data_dir, *, users=()):
    """Migrates a fresh site, makes its users, and runs `manage.py serve` on a free port; on
    leaving, stops it as Ctrl-C would and kills whatever is left."""
    environment = site_environment(data_dir)
    manage(environment, "migrate", "--noinput")
    for username, role in users:
        manage(environment, "createuser", username, "--role", role, "--password", PASSWORD)
    port = free_port()
    output = data_dir / "console.log"
    with open(output, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)], cwd=ROOT, env=environment,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    site = Site(data_dir, port, process, output)
    try:
        wait_for(f"{site.url}/ready/", process, output, seconds=240)
        yield site
    finally:
        leftovers = site.processes() if (data_dir / "run" / "supervisord.pid").exists() else {}
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=60)
        for pid in leftovers:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with _served(tmp_path_factory.mktemp("served")) as served:
        yield served


def test_the_banner_says_where_the_site_is_and_how_to_make_the_first_user(site):
    banner = site.console().split("\n{", 1)[0]

    assert f"Partsite on {site.url}/" in banner
    assert f"Data: {site.data_dir}" in banner
    assert "No one can sign in yet" in banner
    assert "manage.py createuser alice --role lead --password" in banner


def test_the_console_is_json_lines_and_a_refused_request_is_one_of_them(site):
    before = len(site.console().splitlines())
    fetch(f"{site.url}/health/")
    fetch(f"{site.url}/api/parts/", headers={"X-API-Key": "ps_0123456789abcdef.wrong"})
    time.sleep(1)

    lines = site.console().split("\n{", 1)[1].splitlines()
    records = [json.loads("{" + lines[0])] + [json.loads(line) for line in lines[1:]]
    assert not [record for record in records if "celery@" in record["message"] and "ready" not in record["message"]]
    assert not [record for record in records if "No hostname" in record["message"]]
    new = [json.loads(line) for line in site.console().splitlines()[before:]]
    assert [(line["logger"], line["path"], line["status"]) for line in new] == [("partsite.request", "/api/parts/", 401)]


@pytest.fixture(scope="module")
def lead_key(site):
    manage(site_environment(site.data_dir), "createuser", "alice", "--role", "lead", "--password", PASSWORD)
    return manage(site_environment(site.data_dir), "apikey", "create", "alice").strip().splitlines()[-1]


def _upload(site, key, content):
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="box.step"\r\n\r\n'.encode()
        + content + f"\r\n--{boundary}--\r\n".encode()
    )
    status, part = site.api("/api/parts/", key, ("application/json", json.dumps({"name": "Box", "type": "cnc"}).encode()))
    assert status == 201, part
    status, revision = site.api(f"/api/parts/{part['id']}/revisions/", key, (f"multipart/form-data; boundary={boundary}", body))
    assert status == 201, revision
    return revision


def _wait_for_conversions(site, key, ids):
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        statuses = {pk: site.api(f"/api/revisions/{pk}/", key)[1]["conversion_status"] for pk in ids}
        if set(statuses.values()) <= {"ready", "failed"}:
            return statuses
        time.sleep(0.5)
    pytest.fail(f"the conversions did not finish: {statuses}\n{site.console()[-4000:]}")


def test_eight_clients_reconverting_at_once_leave_the_worker_standing(site, lead_key):
    ids = [_upload(site, lead_key, box_step(10 + number, 10, 10))["id"] for number in range(8)]
    assert set(_wait_for_conversions(site, lead_key, ids).values()) == {"ready"}
    worker = site.pids()["worker"]
    together, answers = threading.Barrier(len(ids)), []

    def reconvert(revision_id):
        together.wait()
        answers.append(site.api(f"/api/revisions/{revision_id}/reconvert/", lead_key, ("application/json", b"{}"))[0])

    clients = [threading.Thread(target=reconvert, args=(revision_id,)) for revision_id in ids]
    for client in clients:
        client.start()
    for client in clients:
        client.join()

    assert answers == [200] * len(ids)
    assert set(_wait_for_conversions(site, lead_key, ids).values()) == {"ready"}
    assert site.pids()["worker"] == worker
    assert "Unrecoverable error" not in site.console()


def test_a_killed_worker_is_restarted_while_the_site_answers_and_one_scheduler_runs(site):
    before = site.pids()
    os.kill(before["worker"], signal.SIGKILL)

    deadline = time.monotonic() + 120
    while site.pids().get("worker") in (None, before["worker"]):
        assert fetch(f"{site.url}/health/")[0] == 200
        assert time.monotonic() < deadline, site.console()[-4000:]
        time.sleep(0.5)
    wait_for(f"{site.url}/ready/", site.process, site.output, seconds=120)

    after = site.pids()
    assert (after["web"], after["scheduler"]) == (before["web"], before["scheduler"])
    schedulers = [pid for pid, command in site.processes().items() if " beat " in command]
    assert schedulers == [after["scheduler"]]


def test_two_sites_run_side_by_side_and_ctrl_c_stops_one_within_5_seconds_without_error_lines(site, tmp_path):
    with _served(tmp_path / "second", users=[("bob", "fabricator")]) as second:
        assert "No one can sign in yet" not in second.console()
        assert fetch(f"{site.url}/ready/")[0] == 200
        processes = second.processes()
        shown = len(second.console())

        started = time.monotonic()
        os.killpg(second.process.pid, signal.SIGINT)  # what Ctrl-C in its terminal sends
        second.process.wait(timeout=30)
        stopped_in = time.monotonic() - started

        alive = [pid for pid in processes if _running(pid)]
        said = second.console()[shown:]
    assert second.process.returncode == 0, said
    assert not alive, processes
    assert stopped_in < 5, said
    assert not re.search(r"Traceback|ERROR|CRITICAL|Error", said), said
    assert fetch(f"{site.url}/ready/")[0] == 200


@pytest.fixture
def served_data_dir_note():
    """`make run` notes its data dir in .venv/partsite-data-dir; the developer's note is put back."""
    note = ROOT / ".venv" / "partsite-data-dir"
    kept = note.read_text() if note.exists() else None
    yield note
    if kept is None:
        note.unlink(missing_ok=True)
    else:
        note.write_text(kept)


def test_make_run_serves_a_fresh_data_dir_and_the_readme_commands_work_on_it(tmp_path, served_data_dir_note):
    data_dir, port = tmp_path / "srv-partsite", free_port()
    environment = {name: value for name, value in site_environment(data_dir).items() if name != "PARTSITE_DATA_DIR"}
    output = tmp_path / "make-run.log"
    with open(output, "wb") as log:
        make = subprocess.Popen(
            ["make", "run", f"PORT={port}", f"PARTSITE_DATA_DIR={data_dir}"], cwd=ROOT, env=environment,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/ready/", make, output, seconds=300)
        # In another terminal, as the README says: no PARTSITE_DATA_DIR.
        manage(environment, "createuser", "alice", "--role", "lead", "--password", PASSWORD)
        key = manage(environment, "apikey", "create", "alice").strip().splitlines()[-1]

        status, _, body = fetch(f"{url}/api/auth/check/", headers={"X-API-Key": key})
        assert (status, json.loads(body)["username"]) == (200, "alice"), body

        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        make.wait(timeout=30)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
    said = output.read_text()
    assert "No one can sign in yet" in said
    assert "make: ***" not in said and "Traceback" not in said, said[-3000:]
    assert served_data_dir_note.read_text().strip() == str(data_dir)
