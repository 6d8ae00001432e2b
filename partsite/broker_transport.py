"""The embedded broker's kombu transport (partsite/broker.py): kombu's SQLAlchemy transport,
adjusted through public extension points only (a Transport subclass, create_engine() options,
SQLAlchemy pool events)."""

import os
import threading

from kombu.transport import sqlalchemy as kombu_sqlalchemy
from sqlalchemy import event, exc
from sqlalchemy.pool import QueuePool


class ForkSafePool(QueuePool):
    """Keeps connections open (a new SQLite connection in WAL mode costs a checkpoint: a publish
    took 25 ms instead of 1; `make bench`'s broker section holds it under 10 ms), but never lets a
    forked process use its parent's: SQLite forbids it, and a worker forks pool processes after
    it has connected."""


@event.listens_for(ForkSafePool, "connect")
def _prepare(dbapi_connection, record):
    record.info["pid"] = os.getpid()
    # WAL: publishers and the polling worker do not block each other, and a commit need not
    # wait for the disk (NORMAL is still safe against corruption on power loss in WAL mode).
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


@event.listens_for(ForkSafePool, "checkout")
def _refuse_the_parents_connection(dbapi_connection, record, proxy):
    """SQLAlchemy's recipe for pools and os.fork(): the child opens connections of its own."""
    if record.info["pid"] != os.getpid():
        record.dbapi_connection = proxy.dbapi_connection = None
        raise exc.DisconnectionError(f"connection of process {record.info['pid']}, not {os.getpid()}")


class Channel(kombu_sqlalchemy.Channel):
    """A session per thread. kombu's channel shares one SQLAlchemy session, which is not
    thread-safe: when a pool process dies, the worker rejects (requeues) its late-acked task's
    message from the pool's result thread while its main thread polls, and the worker died of
    "This session is in 'prepared' state" (partsite/tests/test_faults.py)."""

    def __init__(self, connection, **kwargs):
        self._sessions = threading.local()
        super().__init__(connection, **kwargs)

    @property
    def session(self):
        session = getattr(self._sessions, "session", None)
        if session is None:
            _, Session = self._open()
            session = self._sessions.session = Session()
        return session


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel

    # An upload's conversion starts within 0.1 s instead of up to 1 s, kombu's default poll.
    # kombu's option for it cannot be used here: this transport hands its options on to
    # create_engine(), which refuses `polling_interval`.
    polling_interval = 0.1

    def __init__(self, client, **kwargs):
        # Waits up to 20 s for another process's write lock, as Django's SQLite connections do.
        client.transport_options = {
            "poolclass": ForkSafePool, "connect_args": {"timeout": 20}, **client.transport_options,
        }
        super().__init__(client, **kwargs)
