"""A small deterministic embedder for the fast test tier (no model, no download).

Each text becomes a normalised bag of hashed character bigrams: texts that share words get
similar vectors, so a real FAISS index and the real retrieval code behave sensibly on
hand-made passages in milliseconds. It is not e5: dense scores are on another scale.
"""

from __future__ import annotations

import zlib

import numpy as np

DIM = 128


class BigramEmbedder:
    name = "test:hashed-bigrams"
    dim = DIM
    query_lanes = 1

    def __init__(self) -> None:
        self.calls = 0

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([_vector(t) for t in texts]) if texts else np.zeros((0, DIM), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embed_passages(texts)


def _vector(text: str) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    for i in range(len(text) - 1):
        vector[zlib.crc32(text[i:i + 2].encode("utf-8")) % DIM] += 1.0
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector
