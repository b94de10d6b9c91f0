"""The admin bearer token, checked in one place for every staff endpoint."""

from __future__ import annotations

import hmac

from fastapi import Request

from service.core.errors import Forbidden, Unauthorized

DISABLED = "admin API disabled: set POLICYBOT_ADMIN_TOKEN"
LOCAL_CLIENTS = frozenset({"127.0.0.1", "::1", "testclient"})


def check_bearer(request: Request, expected: str) -> None:
    """The request must carry ``Authorization: Bearer <expected>`` (constant-time compare)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                             expected.encode()):
        raise Unauthorized("send the admin token as 'Authorization: Bearer <token>'")


def require_admin(request: Request) -> None:
    """Admin endpoints need the configured token; with none configured they are off (403)."""
    expected = request.app.state.settings.admin_token
    if not expected:
        raise Forbidden(DISABLED)
    check_bearer(request, expected)


def require_staff(request: Request) -> None:
    """A bearer token when one is configured; otherwise only callers on this machine."""
    expected = request.app.state.settings.admin_token
    if expected:
        check_bearer(request, expected)
        return
    host = request.client.host if request.client else ""
    if host not in LOCAL_CLIENTS:
        raise Forbidden(DISABLED)
