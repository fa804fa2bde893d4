"""The root exception of the storage layer."""

from __future__ import annotations


class StorageError(Exception):
    """The database could not be reached or refused an operation."""


class DatabaseUrlError(StorageError):
    """DATABASE_URL names a database this project cannot use."""
