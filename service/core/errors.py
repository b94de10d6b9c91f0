"""Exceptions that carry their HTTP status; one handler renders them all."""

from __future__ import annotations


class ServiceError(Exception):
    """An error a user can act on. ``status`` is the HTTP status it maps to."""

    status = 400
    headers: dict[str, str] = {}

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadRequest(ServiceError):
    status = 400


class Unauthorized(ServiceError):
    status = 401
    headers = {"WWW-Authenticate": 'Bearer realm="policybot"'}


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class PayloadTooLarge(ServiceError):
    status = 413


class UnsupportedMedia(ServiceError):
    status = 415


class Unprocessable(ServiceError):
    status = 422


class NotReady(ServiceError):
    status = 503


class IndexMismatch(ServiceError):
    """The index on disk was built differently from what the settings ask for."""

    status = 503


class CorpusError(ServiceError):
    """A corpus document cannot be read or clashes with another."""

    status = 422


class TooManyRequests(ServiceError):
    """A client sent more than its share; ``retry_after`` seconds until it may send again."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, retry_after))}


class Overloaded(ServiceError):
    """The server sheds work it could not start soon (the embedder's queue is full)."""

    status = 503
    headers = {"Retry-After": "1"}


class StorageFull(ServiceError):
    """A store reached the size its settings allow (507 Insufficient Storage)."""

    status = 507
