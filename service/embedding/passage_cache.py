"""Embeddings cached by (embedder name, text hash), so unchanged text is never embedded twice."""

from __future__ import annotations

import sqlite3
import sys
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np
from tqdm import tqdm

from service.core.hashing import sha256_hex
from service.embedding.embedders import Embedder

SCHEMA = """CREATE TABLE IF NOT EXISTS vectors (
    embedder TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL,
    used REAL NOT NULL DEFAULT 0, PRIMARY KEY (embedder, text_hash))"""


def text_hash(text: str) -> str:
    return sha256_hex(text.encode("utf-8"))


class PassageVectorCache:
    """SQLite store of passage vectors under ``data_dir``, each with the time a reindex last
    used it (``prune`` drops the ones no reindex has used for a while)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(vectors)")}
            if "used" not in columns:  # a cache written before vectors had a last use
                db.execute(f"ALTER TABLE vectors ADD COLUMN used REAL NOT NULL "
                           f"DEFAULT {time.time():.0f}")

    def prune(self, unused_since: float) -> int:
        """Drop the vectors last used before ``unused_since`` (a Unix time); how many."""
        with self._connect() as db:
            return db.execute("DELETE FROM vectors WHERE used < ?", (unused_since,)).rowcount

    def embed(self, embedder: Embedder, texts: list[str], batch_size: int = 16,
              progress: bool = True, on_progress: Callable[[int, int], None] | None = None,
              ) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` (cached or new) and how many had to be embedded.

        ``on_progress(done, total)``: how many of ``texts`` have a vector, after the cache
        lookup and after each batch."""
        hashes = [text_hash(t) for t in texts]
        found = self._lookup(embedder.name, hashes)
        pairs = zip(hashes, texts, strict=True)
        missing = list(OrderedDict((h, t) for h, t in pairs if h not in found).items())
        uses = Counter(hashes)
        done = len(texts) - sum(uses[h] for h, _ in missing)
        report = on_progress or (lambda done, total: None)
        report(done, len(texts))
        bar = tqdm(total=len(missing), desc="embedding", unit="passage", file=sys.stderr,
                   disable=not progress or not missing)
        for i in range(0, len(missing), batch_size):
            batch = missing[i : i + batch_size]
            vectors = embedder.embed_passages([t for _, t in batch])
            fresh = {h: v for (h, _), v in zip(batch, vectors, strict=True)}
            self._store(embedder.name, fresh)
            found.update(fresh)
            bar.update(len(batch))
            done += sum(uses[h] for h, _ in batch)
            report(done, len(texts))
        bar.close()
        matrix = np.stack([found[h] for h in hashes]) if texts else np.zeros((0, embedder.dim))
        return matrix.astype(np.float32), len(missing)

    def _lookup(self, name: str, hashes: list[str]) -> dict[str, np.ndarray]:
        """The cached vectors of ``hashes``, marked as used now."""
        found: dict[str, np.ndarray] = {}
        unique = list(set(hashes))
        now = time.time()
        with self._connect() as db:
            for i in range(0, len(unique), 500):
                chunk = unique[i : i + 500]
                marks = ",".join("?" * len(chunk))
                where = f"WHERE embedder=? AND text_hash IN ({marks})"
                rows = db.execute(f"SELECT text_hash, vector FROM vectors {where}", [name, *chunk])
                found.update({h: np.frombuffer(v, dtype=np.float32) for h, v in rows})
                db.execute(f"UPDATE vectors SET used=? {where}", [now, name, *chunk])
        return found

    def _store(self, name: str, vectors: dict[str, np.ndarray]) -> None:
        now = time.time()
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO vectors (embedder, text_hash, vector, used) "
                "VALUES (?, ?, ?, ?)",
                [(name, h, np.asarray(v, dtype=np.float32).tobytes(), now)
                 for h, v in vectors.items()],
            )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            yield db
