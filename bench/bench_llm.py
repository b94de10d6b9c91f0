"""What policybot adds on top of the LLM's own time, with the LLM test double.

    .venv/bin/python bench/bench_llm.py [--questions 40] [--token-ms 20]

The double (tests/llm_double.py: a protocol test double, not a model) streams a written
answer of two sentences copied from the passages it was sent, one ~2-character token
every ``--token-ms``. Each answerable seed question is answered once, in process, through
the real Conversation (retrieval with a new query embedding, prompt, streamed SSE over
real HTTP, sentence verification). Per answer it reports, from the request's stages:
retrieval (query embedding + FAISS + BM25 + the extractive answer kept for a fallback),
verification, everything policybot did besides waiting for the LLM (total − LLM wait),
and the time from the LLM's first token to the first verified sentence.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from typing import Any

import indexes
from harness import ROOT, Report, percentile, progress, table

sys.path.insert(0, str(ROOT))

from service.answering.events import DoneEvent, SentenceEvent  # noqa: E402
from service.answering.serving import IndexHolder  # noqa: E402
from service.core.timing import start_request  # noqa: E402
from service.embedding.embedders import embedder_for  # noqa: E402
from tests.llm_double import Reply, grounded, running_double  # noqa: E402

SEED_QUESTIONS = ROOT / "tests" / "data" / "seed_questions.jsonl"
TOKEN_CHARS = 2


def tokenised(token_delay_s: float):  # type: ignore[no-untyped-def]
    def reply(request: dict[str, Any]) -> Reply:
        text = "".join(grounded(request).chunks)
        return Reply([text[i:i + TOKEN_CHARS] for i in range(0, len(text), TOKEN_CHARS)],
                     token_delay_s=token_delay_s)
    return reply


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--token-ms", type=float, default=20.0)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in
                 SEED_QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    report = Report("LLM answers: what policybot adds to the LLM's time",
                    f"python bench/bench_llm.py --questions {args.questions} "
                    f"--token-ms {args.token_ms:g}")
    with warnings.catch_warnings(), running_double() as double:
        warnings.simplefilter("ignore")
        double.reply = tokenised(args.token_ms / 1000)
        settings = indexes.seed_settings().model_copy(update={"llm_timeout_s": 60.0})
        embedder = embedder_for(settings)
        indexes.ensure_index(settings, embedder)
        settings = settings.model_copy(update={"llm_base_url": double.url})
        holder = IndexHolder(settings, embedder)
        holder.refresh()
        conversation = holder.snapshot().conversation
        chosen = questions[: args.questions]
        floor_before = embed_floor(embedder, chosen)
        rows = [measure(conversation, q) for q in progress_over(chosen)]
        floor_after = embed_floor(embedder, chosen)
    written = [r for r in rows if r["mode"] == "generative"]
    stats = []
    for label, key in (("retrieval (embedding, FAISS, BM25, extractive fallback)", "retrieve"),
                       ("verification of the written sentences", "verify"),
                       ("retrieval + verification", "retrieve+verify"),
                       ("all policybot time (total − LLM wait)", "policybot"),
                       ("LLM wait (the double's simulated generation)", "llm"),
                       ("LLM first token → first verified sentence", "first_sentence"),
                       ("  of which checking that sentence (complete → shown)", "first_check")):
        values = [r[key] for r in written if key in r]
        stats.append([label, len(values), percentile(values, 50), percentile(values, 95)])
    report.add(f"{len(rows)} answerable seed questions, {len(written)} written answers "
               f"(the rest refused on retrieval: the LLM is not asked); the double streams "
               f"{TOKEN_CHARS}-character tokens every {args.token_ms:g} ms; one new query "
               "embedding per question. Milliseconds per answer:")
    report.add(table(["part", "answers", "p50 ms", "p95 ms"], stats))
    report.add(f"Floor in the same run: one query embedding of the same questions (in process, "
               f"model alone), p50 {floor_before:.1f} ms before and {floor_after:.1f} ms after. "
               f"Load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.")
    report.save()


def embed_floor(embedder, questions: list[str]) -> float:  # type: ignore[no-untyped-def]
    """p50 of embedding each question alone, a variant never embedded before (no cache)."""
    times = []
    for question in questions:
        started = time.perf_counter()
        embedder.embed_query(question + "？")
        times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 50)


def progress_over(questions: list[str]):  # type: ignore[no-untyped-def]
    for number, question in enumerate(questions, start=1):
        if number % 10 == 0:
            progress(f"{number}/{len(questions)} questions")
        yield question


def measure(conversation, question: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    timings = start_request()
    started = time.perf_counter()
    mode = "extractive"
    for event in conversation.events(question):
        if isinstance(event, SentenceEvent):
            pass
        elif isinstance(event, DoneEvent):
            mode = event.answer.mode
    total = (time.perf_counter() - started) * 1000
    ms = timings.ms
    row: dict[str, Any] = {"mode": mode, "total": total, "retrieve": ms.get("retrieve", 0.0),
                           "verify": ms.get("verify", 0.0), "llm": ms.get("llm", 0.0)}
    row["retrieve+verify"] = row["retrieve"] + row["verify"]
    row["policybot"] = total - row["llm"]
    if "first_sentence_after_token" in ms:
        row["first_sentence"] = ms["first_sentence_after_token"]
        row["first_check"] = ms["first_sentence_check"]
    return row


if __name__ == "__main__":
    main()
