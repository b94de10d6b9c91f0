"""The admin bearer token, checked in one place for every staff endpoint."""

from __future__ import annotations

import hmac

from fastapi import Request

from service.core.errors import Forbidden, Unauthorized

DISABLED = ("the admin API is off: set POLICYBOT_ADMIN_TOKEN on the server to a long random "
            "secret (e.g. the output of `openssl rand -hex 32`), restart it, and send "
            "'Authorization: Bearer <token>'")


def check_bearer(request: Request, expected: str) -> None:
    """The request must carry ``Authorization: Bearer <expected>`` (constant-time compare)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                             expected.encode()):
        raise Unauthorized("send the admin token as 'Authorization: Bearer <token>'")


def require_admin(request: Request) -> None:
    """Staff endpoints (documents, reindex, feedback and unanswered lists) need the
    configured token, whoever calls; with none configured they are off (403)."""
    expected = request.app.state.settings.admin_token
    if not expected:
        raise Forbidden(DISABLED)
    check_bearer(request, expected)

