"""Milvus's own BM25 (analyzer jieba) against the word BM25 policybot computes, on eval sets.

    .venv/bin/python bench/milvus_bm25.py --passages P.jsonl --questions Q.jsonl
    (POLICYBOT_VECTOR_STORE=milvus, the data_dir of an eval run: the eval index is reused)

The word channel of the Milvus store holds sparse vectors that policybot computes from its
own tokens (jieba with the zone's dictionary, search mode, stop words; service/index/
tokenizer.py). Milvus can instead tokenise and weigh the text itself: a VARCHAR field with
``analyzer_params={"tokenizer": "jieba"}`` and a BM25 function into a sparse field. This
builds that collection beside the eval index (same passage texts, rows and IDs) in two
variants, Milvus's jieba as is, and with our dictionary words and stop words handed to it,
and scores each in place of policybot's word channel: alone (``bm25``) and fused
(``hybrid``, every other channel unchanged).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from harness import Report, table

from service.answering.retrieval import Retriever
from service.core.settings import Settings
from service.embedding.embedders import embedder_for
from service.evaluation.retrieval_eval import (
    HEADER,
    eval_index,
    read_jsonl,
    score_retrieval,
)
from service.index.build import embedding_text
from service.index.milvus_channels import MilvusChannels, MilvusQuery
from service.index.milvus_store import BATCH, _insert
from service.index.tokenizer import STOPWORDS, USER_DICT

VARIANTS = {
    "milvus jieba": {"tokenizer": "jieba"},
    "milvus jieba + our dictionary and stop words": {
        "tokenizer": {"type": "jieba", "mode": "search",
                      "dict": [line.split()[0] for line in USER_DICT.read_text("utf-8")
                               .splitlines() if line.strip()]},
        "filter": [{"type": "stop", "stop_words": sorted(STOPWORDS)}],
    },
}


def build_builtin(client: Any, name: str, texts: list[str], analyzer: dict[str, Any]) -> None:
    from pymilvus import DataType, Function, FunctionType

    if client.has_collection(name):
        client.drop_collection(name)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                     analyzer_params=analyzer)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["text"], output_field_names=["sparse"]))
    indexes = client.prepare_index_params()
    indexes.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection(name, schema=schema, index_params=indexes)
    _insert(client, name, ({"row": i, "text": t} for i, t in enumerate(texts)))
    client.flush(name)


class BuiltinQuery(MilvusQuery):
    """The word channel from Milvus's BM25 collection; every other channel as stored."""

    collection = ""

    def lexical_top(self, analyzer: str, k: int) -> dict[int, float]:
        if analyzer != "jieba":
            return super().lexical_top(analyzer, k)
        return dict(self._builtin(k, None))

    def lexical_of(self, analyzer: str, rows: list[int]) -> dict[int, float]:
        if analyzer != "jieba":
            return super().lexical_of(analyzer, rows)
        found = dict(self._builtin(len(rows), rows)) if rows else {}
        return {r: found.get(r, 0.0) for r in rows}

    def _builtin(self, k: int, rows: list[int] | None) -> list[tuple[int, float]]:
        kwargs = {"filter": f"row in {rows}"} if rows is not None else {}
        results = self.client.search(self.collection, data=[self.query], anns_field="sparse",
                                     limit=min(k, 16384), search_params={"metric_type": "BM25"},
                                     output_fields=["row"], **kwargs)
        # Milvus Lite 3.2 returns BM25 scores negated (a distance); Milvus returns them as is
        return [(int(h["row"]), abs(float(h["distance"]))) for h in results[0]
                if float(h["distance"]) != 0]


class BuiltinChannels(MilvusChannels):
    collection = ""

    def for_query(self, query: str, query_vector: np.ndarray | None) -> MilvusQuery:
        asked = BuiltinQuery(self, query, query_vector)
        asked.collection = self.collection
        return asked


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", required=True)
    parser.add_argument("--questions", required=True)
    args = parser.parse_args()
    settings = Settings()
    assert settings.vector_store == "milvus", "set POLICYBOT_VECTOR_STORE=milvus"
    embedder = embedder_for(settings)
    ours = eval_index(settings, embedder, Path(args.passages))
    questions = read_jsonl(Path(args.questions), ("question",))
    channels = ours.index.channels
    assert isinstance(channels, MilvusChannels)
    texts = [embedding_text(p) for p in ours.index.passages]
    rows = [["policybot jieba (ours)", *_scores(ours, questions)]]
    for label, analyzer in VARIANTS.items():
        name = f"{channels.names.passages}_builtin_{len(rows)}"
        build_builtin(channels.client, name, texts, analyzer)
        builtin = BuiltinChannels.__new__(BuiltinChannels)
        builtin.__dict__.update(channels.__dict__)
        builtin.collection = name
        index = replace(ours.index, search=builtin)
        rows.append([label, *_scores(Retriever(index, ours.query_vectors, settings), questions)])
        channels.client.drop_collection(name)
    report = Report("Milvus built-in BM25 vs policybot's word BM25", " ".join(sys.argv))
    report.add(f"{args.questions}: {len(questions)} questions, {len(texts)} passages "
               f"(inserted in batches of {BATCH}); cells hit@1 / hit@5 / MRR@10; {HEADER!r}")
    report.add(table(["word channel", "bm25 alone", "hybrid (default fusion)"], rows))
    report.save()


def _scores(retriever: Retriever, questions: list[dict[str, Any]]) -> list[str]:
    cells = []
    for mode in ("bm25", "hybrid"):
        s = score_retrieval(retriever, questions, mode)  # type: ignore[arg-type]
        cells.append(f"{s.hits[1]:.3f} / {s.hits[5]:.3f} / {s.mrr10:.3f}")
    return cells


if __name__ == "__main__":
    main()
