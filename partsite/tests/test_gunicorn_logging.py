"""Gunicorn's console: its own lines are Partsite's JSON lines, and it writes no access log, so a
request is one line (Partsite's, without the query string) and a probe none."""

import json

import pytest

from partsite.testing import BIN, fetch, free_port, manage, running, site_environment, wait_for

pytestmark = pytest.mark.slow
KEY = "ps_0123456789abcdef.Zm9yZ290LXRoaXMtaXMtYS1zZWNyZXQtdmFsdWUtMTIz"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """A gunicorn serving a fresh site; yields (base URL, a function returning its output so far)."""
    data_dir = tmp_path_factory.mktemp("gunicorn-logging")
    port = free_port()
    environment = site_environment(data_dir, BIND=f"127.0.0.1:{port}", WEB_WORKERS="1", WEB_THREADS="2")
    manage(environment, "migrate", "--noinput")
    output = data_dir / "console.log"
    with running([BIN / "gunicorn", "partsite.wsgi", "--config", "python:partsite.gunicorn"], environment, output) as process:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/health/", process, output)
        yield url, output.read_text, data_dir


def test_gunicorn_speaks_in_json_lines(web):
    url, console, _ = web

    lines = [json.loads(line) for line in console().splitlines()]

    assert any(line["logger"] == "gunicorn.error" and line["message"].startswith("Listening at: ") for line in lines)


def test_a_refused_request_is_one_line_without_the_key_and_a_probe_is_none(web):
    url, console, _ = web
    before = len(console().splitlines())

    fetch(f"{url}/health/")
    status, _, _ = fetch(f"{url}/api/parts/?api_key={KEY}&status=pending", headers={"X-API-Key": KEY})

    new = [json.loads(line) for line in console().splitlines()[before:]]
    assert status == 401
    assert [(line["logger"], line["path"], line["status"]) for line in new] == [("partsite.request", "/api/parts/", 401)]
    assert KEY not in console() and "api_key" not in console()


def test_its_control_socket_is_in_the_data_dir_so_two_sites_do_not_share_one(web):
    _, console, data_dir = web

    assert (data_dir / "gunicorn.ctl").is_socket()
    assert f"Control socket listening at {data_dir / 'gunicorn.ctl'}" in console()
