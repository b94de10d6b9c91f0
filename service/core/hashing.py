"""Content hashes: one spelling of SHA-256 for file bytes, caches and manifests."""

from __future__ import annotations

import hashlib


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
