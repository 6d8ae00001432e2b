"""Fixtures of the files tests: a fake Onshape and a real clamd on this machine, and the settings that use them."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from files.tests.fake_onshape import ACCESS_KEY, SECRET_KEY, FakeOnshape, start


@pytest.fixture
def fake_onshape(settings):
    """A fake Onshape that Partsite's imports talk to, polled without waiting."""
    fake = FakeOnshape()
    server = start(fake)
    settings.ONSHAPE_API_URL = fake.url
    settings.ONSHAPE_ACCESS_KEY, settings.ONSHAPE_SECRET_KEY = ACCESS_KEY, SECRET_KEY
    settings.ONSHAPE_POLL_SECONDS = 0
    yield fake
    server.shutdown()
    server.server_close()


# The EICAR test file: harmless, and recognised by every scanner as a test of it.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"
CLAMD_START_SECONDS = 60


@pytest.fixture(scope="session")
def clamd():
    """A real clamd (Debian's clamav-daemon) on a unix socket, with one signature: EICAR's.

    No signature database can be downloaded here, so it gets a database of its own that knows
    only the EICAR test string, wherever it sits in a file. Skipped when clamd is not installed.
    """
    if not os.access(CLAMD, os.X_OK):
        pytest.skip("clamd is not installed (apt-get install clamav-daemon): the malware scanning tests need it")
    # A short folder: a unix socket's path is limited to about 100 characters.
    folder = Path(tempfile.mkdtemp(prefix="clamd-", dir="/tmp"))
    (folder / "db").mkdir()
    (folder / "db" / "partsite-test.ndb").write_text(f"Partsite.Test.EICAR:0:*:{EICAR.hex()}\n")
    socket_path = folder / "clamd.sock"
    (folder / "clamd.conf").write_text(
        f"Foreground yes\nLocalSocket {socket_path}\nDatabaseDirectory {folder / 'db'}\n"
        f"TemporaryDirectory {folder}\nLogFile {folder / 'clamd.log'}\n"
        "StreamMaxLength 600M\nMaxFileSize 600M\nMaxScanSize 600M\n"
    )
    process = subprocess.Popen(
        [CLAMD, f"--config-file={folder / 'clamd.conf'}"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + CLAMD_START_SECONDS
        while not socket_path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"clamd did not start:\n{(folder / 'clamd.log').read_text(errors='replace')}")
            time.sleep(0.1)
        yield f"unix://{socket_path}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def scanning(settings, clamd):
    """Uploads are scanned by the real clamd."""
    settings.CLAMAV_ADDRESS = clamd
    return clamd
