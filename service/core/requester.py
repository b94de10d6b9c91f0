"""Who is asking: the client key that admission control found for the current request.

The HTTP middleware sets it (the socket address, or the forwarded one behind a trusted proxy);
code below the API reads it without being handed anything, as ``timing`` does, to share work
fairly between clients. Outside a request it is ``""``: one anonymous client.
"""

from __future__ import annotations

from contextvars import ContextVar

_client: ContextVar[str] = ContextVar("policybot_client", default="")


def current_client() -> str:
    return _client.get()


def set_client(client: str) -> None:
    _client.set(client)
