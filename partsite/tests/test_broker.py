"""The embedded broker, a SQLite file in the data dir: nothing lost or half-read however busy
the publishers, and no message kept once a worker has taken it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kombu import Connection

from partsite import broker

ROOT = Path(__file__).resolve().parents[2]


def _embedded(data_dir):
    """The environment of a site on the embedded defaults in data_dir."""
    environment = {name: value for name, value in os.environ.items() if name != "CELERY_BROKER_URL"}
    return {**environment, "PARTSITE_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "partsite.settings"}


@pytest.mark.slow
def test_no_message_is_lost_when_busy_web_threads_publish_while_a_worker_reads(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "partsite.tests.broker_race", "400"],
        cwd=ROOT, env=_embedded(tmp_path), capture_output=True, text=True, timeout=600,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "sent": 400, "received": 400, "duplicates": 0, "missing": [], "reader_error": None, "publishers_ok": True,
    }
    assert (tmp_path / "broker.sqlite3").is_file()


def test_a_worker_forgets_the_messages_it_has_taken_and_keeps_the_rest(tmp_path):
    url = broker.url(tmp_path / "broker.sqlite3")
    with Connection(url) as connection, connection.SimpleQueue("forgetting") as queue:
        for number in range(5):
            queue.put({"number": number})
        for _ in range(3):
            queue.get(timeout=5).ack()

        assert broker.forget_delivered(url) == 3
        assert broker.forget_delivered(url) == 0
        assert [queue.get(timeout=5).payload["number"] for _ in range(2)] == [3, 4]
