"""Print hybrid retrieval quality for a grid of RRF constants and weights.

    python bench/fusion_grid.py QUESTIONS.jsonl [--passages P.jsonl] [--limit N]

Uses the same cached eval index as `policybot eval`; this is how the fusion
defaults in settings.py were chosen (numbers in the README).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from service.answering.retrieval import Retriever
from service.core.settings import Settings
from service.embedding.embedders import embedder_for
from service.embedding.query_vectors import QueryVectors
from service.evaluation.retrieval_eval import (
    EVAL_QUERY_CACHE,
    eval_index,
    read_jsonl,
    score_retrieval,
)
from service.index.store import load_current

GRID_K = (10, 30, 60)
GRID_WEIGHTS = ((1.0, 1.0), (0.5, 1.0), (1.0, 0.5))
GRID_MIX = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", type=Path)
    parser.add_argument("--passages", type=Path)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    settings = Settings()
    embedder = embedder_for(settings)
    if args.passages:
        base = eval_index(settings, embedder, args.passages)
    else:
        base = Retriever(load_current(settings.index_dir, embedder.name),
                                       QueryVectors(embedder, 0), settings)
    vectors = QueryVectors(embedder, EVAL_QUERY_CACHE)
    questions = read_jsonl(args.questions)[: args.limit or None]
    print(f"{args.questions.name}: {len(questions)} questions")
    print(f"{'fusion':<9} {'w_dense':>7} {'w_bm25':>7} {'hit@1':>7} {'hit@5':>7} {'MRR@10':>7}")
    for mode in ("dense", "bm25"):
        scores = score_retrieval(Retriever(base.index, vectors, settings), questions, mode)  # type: ignore[arg-type]
        print(f"{mode:<25} {scores.hits[1]:>7.3f} {scores.hits[5]:>7.3f} {scores.mrr10:>7.3f}")
    for k in GRID_K:
        for weights in GRID_WEIGHTS:
            rrf = settings.model_copy(update={"fusion": "rrf", "rrf_k": k,
                                              "rrf_dense_weight": weights[0],
                                              "rrf_bm25_weight": weights[1]})
            retriever = Retriever(base.index, vectors, rrf)
            scores = score_retrieval(retriever, questions, "hybrid")
            print(f"rrf k={k:<3} {weights[0]:>7.1f} {weights[1]:>7.1f} {scores.hits[1]:>7.3f} "
                  f"{scores.hits[5]:>7.3f} {scores.mrr10:>7.3f}")
    for alpha in GRID_MIX:
        mix = settings.model_copy(update={"fusion": "mix", "mix_dense_weight": alpha})
        retriever = Retriever(base.index, vectors, mix)
        scores = score_retrieval(retriever, questions, "hybrid")
        print(f"{'mix':<9} {alpha:>7.2f} {1 - alpha:>7.2f} {scores.hits[1]:>7.3f} "
              f"{scores.hits[5]:>7.3f} {scores.mrr10:>7.3f}")


if __name__ == "__main__":
    main()
