"""Fixtures shared by every app's tests: the three roles, their API clients, and a clean sandbox."""

import pytest

# Django-dependent imports live inside the fixtures, so the pure-Python tests
# (STEP sniffing, the converter) can also run without Django.


@pytest.fixture(autouse=True)
def sandbox(settings, tmp_path, tmp_path_factory):
    """Each test stores files in its own folder and starts with empty rate-limit counters."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # Celery copies its configuration once, so tasks run in-process is set on the app itself.
    from partsite.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    # A cache of its own per test: parallel test processes must not share rate-limit counters.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": str(tmp_path)}}
    # Users are created in almost every test; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Serve static files (the API docs' assets) without running collectstatic first.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    # Beside tmp_path, not in it: tests check that tmp_path holds only what they made.
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path_factory.mktemp("spool")
    settings.UPLOAD_PARTS_DIR = tmp_path_factory.mktemp("upload-parts")


S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_S3_REGION_NAME": "us-east-1"}


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 as a real HTTP server on a free port, for the whole test session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage_backend(request, settings):
    """Run the test once with files on local disk and once on S3 (a fresh bucket in moto)."""
    if request.param == "s3":
        import uuid

        import boto3

        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = f"partsite-{uuid.uuid4().hex[:16]}"
        boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        ).create_bucket(Bucket=bucket)
        for name, value in S3_CREDENTIALS.items():
            setattr(settings, name, value)
        settings.AWS_S3_ENDPOINT_URL = settings.AWS_S3_PUBLIC_ENDPOINT_URL = endpoint
        settings.AWS_S3_ADDRESSING_STYLE = "path"
        settings.AWS_STORAGE_BUCKET_NAME = bucket
        settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    return request.param


def _user(username, role):
    from partsite.services import user_create

    return user_create(username=username, role=role, password=f"{username}-secret-pw")


@pytest.fixture
def lead(db):
    return _user("alice", "lead")


@pytest.fixture
def fabricator(db):
    return _user("bob", "fabricator")


@pytest.fixture
def other_fabricator(db):
    return _user("dave", "fabricator")


@pytest.fixture
def viewer(db):
    return _user("carol", "viewer")


@pytest.fixture
def roleless(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("eve", password="eve-secret-pw")


def client_for(user):
    """An API client that authenticates the way integrators do, with an X-API-Key header."""
    from rest_framework.test import APIClient

    from partsite.services import apikey_create

    _, key = apikey_create(user=user)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    client.user = user
    return client


@pytest.fixture
def as_lead(lead):
    return client_for(lead)


@pytest.fixture
def as_fabricator(fabricator):
    return client_for(fabricator)


@pytest.fixture
def as_other_fabricator(other_fabricator):
    return client_for(other_fabricator)


@pytest.fixture
def as_viewer(viewer):
    return client_for(viewer)


@pytest.fixture
def anonymous():
    from rest_framework.test import APIClient

    return APIClient()
