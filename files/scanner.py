"""Malware scanning with ClamAV's daemon, clamd: a file's bytes are streamed to it as they are read.

Scanning is on when CLAMAV_ADDRESS names a clamd (`unix:///run/clamav/clamd.ctl`, or
`tcp://host:3310`), and off otherwise. Files are sent with clamd's INSTREAM command through the
`clamav-client` library, chunk by chunk from storage, never whole in memory; clamd's own
StreamMaxLength, MaxFileSize and MaxScanSize must be at least MAX_UPLOAD_MB, or bigger files
are refused (an `error`) or, worse, only partly scanned.
"""

import io
from dataclasses import dataclass
from urllib.parse import urlsplit

from clamav_client.clamd import BufferTooLongError, ClamdError, ClamdNetworkSocket, ClamdUnixSocket
from django.conf import settings


class ScannerUnavailable(Exception):
    """clamd could not be reached or did not answer; scanning later may work."""


@dataclass(frozen=True)
class Verdict:
    """clean, infected (with the signature found) or error (with clamd's reason)."""

    status: str
    signature: str = ""
    error: str = ""


def is_enabled():
    return bool(settings.CLAMAV_ADDRESS)


def _clamd():
    address = settings.CLAMAV_ADDRESS
    timeout = settings.CLAMAV_TIMEOUT_SECONDS
    if address.startswith("unix://") or address.startswith("/"):
        return ClamdUnixSocket(address.removeprefix("unix://"), timeout=timeout)
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    return ClamdNetworkSocket(parts.hostname, parts.port or 3310, timeout=timeout)


class _ChunksReader(io.RawIOBase):
    """A readable stream over an iterator of chunks, for the library's instream(), which reads it piece by piece."""

    def __init__(self, chunks):
        super().__init__()
        self._chunks, self._pending = iter(chunks), b""

    def readable(self):
        return True

    def readinto(self, buffer):
        while not self._pending:
            self._pending = next(self._chunks, None)
            if self._pending is None:
                self._pending = b""
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size


def scan(chunks):
    """clamd's verdict on the bytes `chunks` yields; ScannerUnavailable when clamd cannot give one now."""
    try:
        result = _clamd().instream(io.BufferedReader(_ChunksReader(chunks), buffer_size=64 * 1024))
    except BufferTooLongError:
        return Verdict("error", error="The file is larger than clamd's StreamMaxLength; raise it to MAX_UPLOAD_MB.")
    except ClamdError as error:
        raise ScannerUnavailable(f"clamd at {settings.CLAMAV_ADDRESS}: {error}") from error
    except OSError as error:
        raise ScannerUnavailable(f"clamd at {settings.CLAMAV_ADDRESS}: {type(error).__name__}: {error}") from error
    status, reason = result.get("stream", ("ERROR", "clamd gave no answer"))
    if status == "OK":
        return Verdict("clean")
    if status == "FOUND":
        return Verdict("infected", signature=reason or "")
    return Verdict("error", error=f"clamd could not scan the file: {reason}")

