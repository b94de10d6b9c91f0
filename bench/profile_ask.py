"""Profile `/api/v1/ask` in process: where the time goes besides the embedder.

    .venv/bin/python bench/profile_ask.py [--index 10k] [--repeats 20]

Runs the real app through Starlette's TestClient on questions whose vectors are
already cached (so the embedder is out of the picture), under pyinstrument, and
prints the call tree; then times each stage of one answer separately.
"""

from __future__ import annotations

import argparse
import time
import warnings

import indexes
import synthetic
from harness import median_ms, table

from service.answering.evidence import query_terms
from service.api.app import create_app
from service.index.bm25 import BM25Index
from service.index.tokenizer import tokenize
from service.index.vector_index import search

PROFILE_QUESTIONS = ["我们公司想了解科技创新和人才引进有哪些支持政策？",
                     "我们是一家生物医药企业，能享受哪些政策？"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default="seed", help="'seed' or a synthetic size, e.g. 10k")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    settings = indexes.seed_settings() if args.index == "seed" else \
        indexes.synthetic_settings(int(args.index.rstrip("k")) * 1000)
    indexes.ensure_index(settings)
    questions = synthetic.real_questions()[:20]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    with TestClient(create_app(settings)) as client:
        for question in questions:  # fill the query-vector cache
            client.post("/api/v1/ask", json={"question": question})
        snapshot = client.app.state.holder.snapshot()  # type: ignore[attr-defined]
        _profile(snapshot.answerer.answer, questions, args.repeats)
        http = _each(lambda q: client.post("/api/v1/ask", json={"question": q}), questions)
        print(f"whole HTTP request through TestClient: {http:.2f} ms per question (mean)")
        _stages(snapshot, questions)


def _profile(answer, questions: list[str], repeats: int) -> None:  # type: ignore[no-untyped-def]
    """The call tree of the answerer (the HTTP layer runs in another thread: see _stages)."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0002)
    with profiler:
        for _ in range(repeats):
            for question in questions:
                answer(question)
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def _stages(snapshot, questions: list[str]) -> None:  # type: ignore[no-untyped-def]
    retriever, index = snapshot.retriever, snapshot.index
    bm25: BM25Index = index.bm25
    answerer = snapshot.answerer
    vectors = [retriever.query_vectors.get(q) for q in questions]
    rows = [
        ("embed_query (cache miss)", median_ms(lambda: retriever.query_vectors.embedder.embed_query(
            questions[0]), 10)),
        ("query vector (cache hit)", _each(lambda q: retriever.query_vectors.get(q), questions)),
        ("faiss search k=50", _each(lambda v: search(index.vectors, v, 50), vectors)),
        ("jieba tokenize (query)", _each(tokenize, questions)),
        ("bm25 scores", _each(bm25.scores, questions)),
        ("retriever.search (hybrid)", _each(retriever.search, questions)),
        ("query_terms (jieba posseg)", _each(lambda q: query_terms(q, bm25), questions)),
        ("answerer.answer", _each(answerer.answer, questions)),
        ("answerer.answer, profile question (PolicyMatcher)",
         _each(answerer.answer, PROFILE_QUESTIONS)),
    ]
    print(table(["stage", "ms per question (mean)"], rows))


def _each(action, items: list) -> float:  # type: ignore[no-untyped-def, type-arg]
    for item in items:
        action(item)
    started = time.perf_counter()
    for item in items:
        action(item)
    return 1000 * (time.perf_counter() - started) / len(items)


if __name__ == "__main__":
    main()
