"""Database connection helpers shared by the views and middleware."""

from django.db import connection


def drop_connection() -> None:
    """Close the connection after it failed (dropped by the server, a restart), so the next
    query opens a new one. Inside a transaction (ATOMIC_REQUESTS, a test's transaction) the
    connection is left alone: closing it would end the transaction the caller still holds."""
    if not connection.in_atomic_block:
        connection.close()
