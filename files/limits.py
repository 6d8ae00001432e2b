"""The largest file Partsite accepts (MAX_UPLOAD_MB).

The upload handlers check it while a body arrives, and the services when an upload starts
or a file is stored, so it lives here rather than in either.
"""

from django.conf import settings

from partsite.errors import TooLarge

MIB = 1024 * 1024


def max_upload_bytes():
    return settings.MAX_UPLOAD_MB * MIB


def too_large(size_text):
    return TooLarge(
        f"The file is larger than the {settings.MAX_UPLOAD_MB} MB limit ({size_text}).", field="file",
        max_upload_mb=settings.MAX_UPLOAD_MB,
    )
