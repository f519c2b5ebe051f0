"""Put on PYTHONPATH of the cluster's slrt processes: psycopg connects with
prepare_threshold=None, so it never names server-side prepared statements.

The app has no setting for this yet. Through PgBouncer 1.18 (Debian 12) in transaction pooling
a prepared statement stays on the backend it was made on, and the next transaction of the same
client may run on another one: measured here, about 1 request in 200 failed with
`prepared statement "_pg3_0" does not exist` / `already exists` without this. Once the app
connects this way itself (a connect argument chosen by configuration), delete this directory
and the PYTHONPATH line of tests/deploy/conftest.py.
"""

from sqlalchemy import event
from sqlalchemy.pool import Pool


@event.listens_for(Pool, "connect")
def _no_server_side_prepare(dbapi_connection, connection_record) -> None:
    if hasattr(dbapi_connection, "prepare_threshold"):  # psycopg 3 connections only
        dbapi_connection.prepare_threshold = None
