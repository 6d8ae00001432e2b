"""A site on local disk does not load boto3: a web worker that never talks to S3 does not pay for it."""

import os
import subprocess
import sys

from django.conf import settings

PROBE = """
import sys
import django
django.setup()
from files.storage import vault
print(type(vault()).__name__, "boto3" in sys.modules)
"""


def test_a_local_sites_vault_is_chosen_without_loading_boto3(tmp_path):
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "DATABASE_"))}
    env.update(DJANGO_SETTINGS_MODULE="partsite.settings", PARTSITE_DATA_DIR=str(tmp_path))
    probe = subprocess.run([sys.executable, "-c", PROBE], cwd=settings.BASE_DIR, env=env, capture_output=True,
                           text=True, check=True)
    assert probe.stdout.split() == ["LocalVault", "False"]
