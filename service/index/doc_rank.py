"""The document as a unit: a document-level character channel and per-document scores.

A question is about one notice far more often than about one passage of it, and the
words that pick the right notice (北京市 vs 湖北省, 人社局 vs 税务局, the notice's own
title) are often in its title or another passage than the one that answers. So every
document gets a character BM25 over its title and whole text (rows = documents, in the
order their passages first appear), and a passage's fused score is lifted by its
document's normalised score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service.core.models import Document, Passage

DOCUMENT_PREFIX = "docs"  # file prefix of the document-level character BM25


def document_rows(passages: Sequence[Passage]) -> dict[str, int]:
    """Document id -> row, in the order the documents' passages first appear."""
    rows: dict[str, int] = {}
    for passage in passages:
        rows.setdefault(passage.document_id, len(rows))
    return rows


def passage_document_rows(passages: Sequence[Passage]) -> np.ndarray:
    rows = document_rows(passages)
    return np.fromiter((rows[p.document_id] for p in passages), dtype=np.int32,
                       count=len(passages))


def document_texts(documents: Sequence[Document], passages: Sequence[Passage]) -> list[str]:
    """Title and whole cleaned text of each document that has passages, in row order."""
    by_id = {d.id: d for d in documents}
    return [f"{by_id[i].title}\n{by_id[i].text}" for i in document_rows(passages)]
