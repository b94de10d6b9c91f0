"""Embeddings cached by (embedder name, text hash), so unchanged text is never embedded twice."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np
from tqdm import tqdm

from service.embedding import Embedder

SCHEMA = """CREATE TABLE IF NOT EXISTS vectors (
    embedder TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (embedder, text_hash))"""


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PassageVectorCache:
    """SQLite store of passage vectors under ``data_dir``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)

    def embed(self, embedder: Embedder, texts: list[str], batch_size: int = 16,
              progress: bool = True) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` (cached or new) and how many had to be embedded."""
        hashes = [text_hash(t) for t in texts]
        found = self._lookup(embedder.name, hashes)
        pairs = zip(hashes, texts, strict=True)
        missing = list(OrderedDict((h, t) for h, t in pairs if h not in found).items())
        bar = tqdm(total=len(missing), desc="embedding", unit="passage", file=sys.stderr,
                   disable=not progress or not missing)
        for i in range(0, len(missing), batch_size):
            batch = missing[i : i + batch_size]
            vectors = embedder.embed_passages([t for _, t in batch])
            fresh = {h: v for (h, _), v in zip(batch, vectors, strict=True)}
            self._store(embedder.name, fresh)
            found.update(fresh)
            bar.update(len(batch))
        bar.close()
        matrix = np.stack([found[h] for h in hashes]) if texts else np.zeros((0, embedder.dim))
        return matrix.astype(np.float32), len(missing)

    def _lookup(self, name: str, hashes: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(set(hashes))
        with self._connect() as db:
            for i in range(0, len(unique), 500):
                chunk = unique[i : i + 500]
                marks = ",".join("?" * len(chunk))
                query = ("SELECT text_hash, vector FROM vectors "
                         f"WHERE embedder=? AND text_hash IN ({marks})")
                rows = db.execute(query, [name, *chunk])
                found.update({h: np.frombuffer(v, dtype=np.float32) for h, v in rows})
        return found

    def _store(self, name: str, vectors: dict[str, np.ndarray]) -> None:
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                [(name, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()],
            )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            yield db
