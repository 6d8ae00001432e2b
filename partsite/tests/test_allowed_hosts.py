"""The names the site answers to: `make run HOST=0.0.0.0` serves the shop's tablets, which reach
it by the machine's address or name, unless ALLOWED_HOSTS narrows it."""

import json
import subprocess
import sys

import pytest

from partsite.testing import ROOT, site_environment

ASK = """
import django, json, sys
django.setup()
from django.test import Client
print(json.dumps({host: Client().get("/login/", HTTP_HOST=host).status_code for host in sys.argv[1:]}))
"""


@pytest.fixture
def answers(tmp_path):
    """{host name: the status /login/ answers it with}, under a site started with `environment`."""
    def ask(hosts, **environment):
        result = subprocess.run(
            [sys.executable, "-c", ASK, *hosts], cwd=ROOT, capture_output=True, text=True, timeout=120,
            env=site_environment(tmp_path, DJANGO_SETTINGS_MODULE="partsite.settings", **environment),
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.splitlines()[-1])

    return ask


def test_serving_every_address_answers_the_machines_lan_address_and_name(answers):
    assert answers(["192.168.1.20:8000", "workshop-pc.local:8000", "localhost:8000"], HOST="0.0.0.0") == {
        "192.168.1.20:8000": 200, "workshop-pc.local:8000": 200, "localhost:8000": 200,
    }


def test_allowed_hosts_narrows_a_site_that_serves_every_address(answers):
    assert answers(["192.168.1.20:8000", "parts.lan:8000"], HOST="0.0.0.0", ALLOWED_HOSTS="parts.lan") == {
        "192.168.1.20:8000": 400, "parts.lan:8000": 200,
    }


def test_serving_one_address_answers_that_address_and_localhost_only(answers):
    assert answers(["192.168.1.20:8000", "localhost:8000", "10.0.0.9:8000"], HOST="192.168.1.20") == {
        "192.168.1.20:8000": 200, "localhost:8000": 200, "10.0.0.9:8000": 400,
    }
    assert answers(["192.168.1.20:8000", "127.0.0.1:8000"], HOST="127.0.0.1") == {
        "192.168.1.20:8000": 400, "127.0.0.1:8000": 200,
    }
