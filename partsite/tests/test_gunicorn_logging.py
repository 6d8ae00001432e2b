"""Gunicorn's access log, formatted by gunicorn itself with Partsite's settings."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from partsite import gunicorn as gunicorn_settings

KEY = "ps_0123456789abcdef.Zm9yZ290LXRoaXMtaXMtYS1zZWNyZXQtdmFsdWUtMTIz"


@pytest.fixture
def access_log(tmp_path):
    """Log one request the way a gunicorn worker does, and return the line written."""
    config = Config()
    for name in ("access_log_format", "worker_class", "workers", "threads"):
        config.set(name, getattr(gunicorn_settings, name))
    config.set("accesslog", str(tmp_path / "access.log"))
    logger = Logger(config)

    def log(path, query_string, headers=()):
        environ = {
            "REQUEST_METHOD": "GET",
            "RAW_URI": f"{path}?{query_string}",
            "PATH_INFO": path,
            "QUERY_STRING": query_string,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "192.0.2.7",
            "HTTP_USER_AGENT": "curl/8.5",
            "HTTP_REFERER": f"https://partsite.example{path}?{query_string}",
            **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers},
        }
        request = SimpleNamespace(headers=[(name.upper(), value) for name, value in headers])
        response = SimpleNamespace(status="401 Unauthorized", sent=58, headers=[("Content-Type", "application/json")])
        logger.access(response, request, environ, timedelta(milliseconds=12))
        for handler in logger.access_log.handlers:
            handler.flush()
        return (tmp_path / "access.log").read_text()

    yield log
    for handler in list(logger.access_log.handlers):
        if getattr(handler, "_gunicorn", False):
            logger.access_log.removeHandler(handler)
            handler.close()


def test_the_access_log_drops_a_key_in_the_query_string(access_log):
    line = access_log("/api/parts/", f"api_key={KEY}&status=pending")

    assert '"GET /api/parts/ HTTP/1.1" 401 58 12ms "curl/8.5"' in line
    assert KEY not in line
    assert "api_key" not in line


def test_the_access_log_drops_the_key_header(access_log):
    line = access_log("/api/parts/", "", headers=[("X-API-Key", KEY)])

    assert "192.0.2.7" in line
    assert KEY not in line


def test_the_access_log_drops_signed_link_parameters(access_log):
    line = access_log("/files/download/7/", "X-Amz-Signature=deadbeefcafe&X-Amz-Credential=AKIAEXAMPLE")

    assert "deadbeefcafe" not in line and "AKIAEXAMPLE" not in line
