"""bench/minimal_server.py, the transfers' reference on local disk: it does the least the job needs, and does it."""

import hashlib
import io

from bench import minimal_server


def call(environ):
    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = status, dict(headers)

    body = b"".join(minimal_server.app(environ, start_response))
    return answer["status"], body


def test_a_put_is_stored_and_answered_with_its_sha256(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_MINIMAL_ROOT", str(tmp_path))
    data = bytes(range(256)) * 10_000  # more than one 1 MiB chunk

    status, body = call({"REQUEST_METHOD": "PUT", "PATH_INFO": "/upload-1.step", "CONTENT_LENGTH": str(len(data)),
                         "wsgi.input": io.BytesIO(data)})

    assert status == "201 Created"
    assert body.decode() == hashlib.sha256(data).hexdigest()
    assert (tmp_path / "upload-1.step").read_bytes() == data


def test_a_put_cut_short_is_refused_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_MINIMAL_ROOT", str(tmp_path))

    status, _ = call({"REQUEST_METHOD": "PUT", "PATH_INFO": "/upload-2.step", "CONTENT_LENGTH": "1000",
                      "wsgi.input": io.BytesIO(b"x" * 10)})

    assert status == "400 Bad Request"
    assert not (tmp_path / "upload-2.step").exists()
