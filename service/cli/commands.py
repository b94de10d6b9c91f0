"""What each `policybot` subcommand does (the parser lives in cli.py)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from service.answering.events import DoneEvent, SentenceEvent, final_answer
from service.answering.retrieval import Retriever
from service.answering.serving import IndexHolder
from service.api.presenters import ask_response, search_result
from service.core.errors import ServiceError
from service.core.json_logs import LOG_CONFIG
from service.core.metrics import MULTIPROC_ENV
from service.core.settings import Settings
from service.embedding.embedders import embedder_for
from service.evaluation.retrieval_eval import (
    HEADER,
    eval_retriever,
    modes_for,
    read_jsonl,
    score_retrieval,
)
from service.index.build import rebuild, reindex
from service.index.build_lock import build_lock
from service.index.policy_status import DocumentStatus
from service.index.vector_store import current_version, where
from service.storage.schema import prepare_database

GENERATIVE_LABEL = "根据引用文本撰写"


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    result = reindex(settings, embedder_for(settings), wait=True)
    print(f"index version {result.version}: {result.documents} documents, {result.passages} "
          f"passages, {result.embedded} embedded, {result.seconds:.1f}s -> {where(settings)}")
    for reason in result.skipped:
        print(f"skipped {reason}", file=sys.stderr)
    return 0


def build_first(settings: Settings) -> None:
    """Build the first index, unless a node sharing the store built it while this one
    waited for the build lock (replicas starting together build once)."""
    with build_lock(settings, wait=True):
        if current_version(settings) is not None:
            return
        print("no index yet: building it first", file=sys.stderr)
        result = rebuild(settings, embedder_for(settings))
    print(f"index version {result.version}: {result.passages} passages -> {where(settings)}")


def _holder(settings: Settings) -> IndexHolder:
    holder = IndexHolder(settings, embedder_for(settings))
    holder.refresh()
    if not holder.ready:
        raise ServiceError(holder.last_error or "no index; run `policybot reindex`", status=503)
    return holder


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    snapshot = _holder(settings).snapshot().including_expired(args.include_expired)
    hits = snapshot.retriever.search(args.query, top_k=args.top_k, mode=args.mode)
    statuses = snapshot.statuses.by_document()
    if args.json:
        print(_json({"results": [search_result(h, statuses).model_dump() for h in hits]}))
        return 0
    for rank, hit in enumerate(hits, start=1):
        print(f"{rank}. [{hit.passage.id}] {hit.passage.title}  score={hit.score:.4f} "
              f"dense={hit.dense_score:.3f} bm25={hit.bm25_score:.2f}")
        print(f"   {policy_line(statuses.get(hit.passage.document_id))}")
        print(textwrap.indent(textwrap.fill(hit.passage.text, 60), "   "))
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    snapshot = _holder(settings).snapshot().including_expired(args.include_expired)
    statuses = snapshot.statuses.by_document()
    events = snapshot.conversation.events(args.question, top_k=args.top_k or settings.top_k)
    if args.json:
        print(_json(ask_response(final_answer(events), 0.0, statuses).model_dump()))
        return 0
    answer = None
    for event in events:
        if args.stream and isinstance(event, SentenceEvent):
            print(event.text, end="", flush=True)
        elif isinstance(event, DoneEvent):
            answer = event.answer
    assert answer is not None
    if answer.fallback_reason:
        print(f"policybot: extractive answer ({answer.fallback_reason})", file=sys.stderr)
    print("" if args.stream else answer.text)
    if answer.mode == "generative":
        print(f"（{GENERATIVE_LABEL}；未通过核对而删去的句子：{answer.dropped}）")
    if answer.citations:
        print("\n来源：")
    printed = set()
    for citation in answer.citations:
        if citation.marker in printed:
            continue
        printed.add(citation.marker)
        passage = citation.hit.passage
        print(f"[{citation.marker}] {passage.title}（{passage.date or '日期不详'}）{passage.id}")
        print(f"    {policy_line(statuses.get(passage.document_id))}")
        print(textwrap.indent(textwrap.fill(citation.quote, 60), "    "))
    return 0


def policy_line(status: DocumentStatus | None) -> str:
    """发文机关、文号、日期 and 状态 of a cited notice, in one line."""
    return "状态：未知" if status is None else status.line()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    shared = prepare_database(settings)  # unreachable: one clear line, before any worker
    if shared:
        print(f"shared state in {shared}", file=sys.stderr)
    if current_version(settings) is None:
        build_first(settings)
    if args.workers > 1:
        share_cores(args.workers)
        shared_metrics_folder(settings)
    uvicorn.run("service.api.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="info", log_config=LOG_CONFIG,
                access_log=False)  # the app writes its own JSON access lines
    return 0


def shared_metrics_folder(settings: Settings) -> Path:
    """Workers add up their metrics through files in one folder (prometheus-client's
    multiprocess mode): ``data_dir/metrics``, emptied at start so counts begin at zero."""
    folder = (settings.data_dir / "metrics").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def share_cores(workers: int) -> None:
    """Give each worker's embedder its share of the cores (unless OMP_NUM_THREADS is set):
    with the OpenMP default every worker starts one thread per core, and N workers
    oversubscribe the machine N times over (measured in bench/bench_query.py)."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    if args.facts:
        return _eval_facts(args.facts, args.passages, args.part, args.json)
    if args.verifier:
        return _eval_verifier(args.verifier, settings, args.json)
    if not args.questions and not args.followups:
        raise ServiceError("give --questions FILE, --followups FILE or --verifier FILE")
    if args.followups:
        return _eval_followups(args.followups, settings, args.json)
    required = ("question", "answerable") if args.refusal else ("question",)
    questions = read_jsonl(args.questions, required)[: args.limit or None]  # before the model
    embedder = embedder_for(settings)
    retriever = eval_retriever(settings, embedder, args.passages)
    if args.refusal:
        return _eval_refusal(retriever, settings, questions, args.json)
    if args.answers:
        return _eval_answers(retriever, settings, questions, args.json)
    scores = [score_retrieval(retriever, questions, mode) for mode in modes_for(args.mode)]
    if args.json:
        print(_json([s.__dict__ for s in scores]))
        return 0
    print(f"{args.questions} ({len(questions)} questions)")
    print(HEADER)
    for score in scores:
        print(score.row())
    return 0


def _eval_refusal(retriever: Retriever, settings: Settings, questions: list, as_json: bool) -> int:  # type: ignore[type-arg]
    from service.answering.extractive import ExtractiveAnswerer
    from service.answering.serving import refusal_policy
    from service.evaluation.refusal_eval import HEADER as REFUSAL_HEADER
    from service.evaluation.refusal_eval import score_refusal

    answerer = ExtractiveAnswerer(retriever, refusal_policy(settings))
    grid = sorted({round(0.1 * i, 2) for i in range(0, 10)} | {settings.refusal_threshold})
    rows = [score_refusal(answerer, questions, t) for t in grid]
    if as_json:
        print(_json([r.__dict__ for r in rows]))
        return 0
    print(f"{len(questions)} questions; configured threshold {settings.refusal_threshold}")
    _print_grid(REFUSAL_HEADER, rows, lambda r: r.threshold == settings.refusal_threshold)
    return 0


def _eval_facts(labels_path: Path, passages_path: Path | None, part: str | None,
                as_json: bool) -> int:
    """Precision of the policy facts read from text, against hand labels (no model needed)."""
    from service.evaluation import facts_eval as f

    if passages_path is None:
        raise ServiceError("--facts needs --passages FILE: the notices the labels were made on",
                           status=400)
    labels = f.load_labels(labels_path, part)
    passages = {p["id"]: p for p in read_jsonl(passages_path, ("id", "text"))}
    scores, misses = f.score_facts(passages, labels)
    if as_json:
        print(_json([{**s.__dict__, "precision": s.precision, "recall": s.recall}
                     for s in scores]))
        return 0
    print(f"{labels_path}: {len(labels)} labelled notices" + (f" (part {part})" if part else ""))
    print(f.HEADER)
    for score in scores:
        print(score.row())
    for miss in misses:
        print(f"  {miss}")
    return 0


def _eval_verifier(path: Path, settings: Settings, as_json: bool) -> int:
    from service.evaluation import verifier_eval as v

    records = read_jsonl(path, ("sentence", "passages", "supported"))
    grid = sorted(set(v.GRID) | {settings.verify_coverage})
    rows = [v.score_verifier(records, coverage) for coverage in grid]
    if as_json:
        print(_json([r.__dict__ for r in rows]))
        return 0
    supported = sum(1 for r in records if r["supported"])
    print(f"{path}: {len(records)} sentences, {supported} supported; configured coverage "
          f"{settings.verify_coverage}")
    _print_grid(v.HEADER, rows, lambda r: r.coverage == settings.verify_coverage)
    configured = next(r for r in rows if r.coverage == settings.verify_coverage)
    print("kept per label at the configured coverage: " + ", ".join(
        f"{label} {count}" for label, count in configured.kept_by_label.items()))
    for record_id, why in v.failures(records, settings.verify_coverage):
        print(f"  wrong: {record_id}: {why}")
    return 0


def _eval_followups(path: Path, settings: Settings, as_json: bool) -> int:
    from service.answering.followup import FollowupRewriter
    from service.answering.serving import llm_client
    from service.evaluation.followup_eval import HEADER as FOLLOWUP_HEADER
    from service.evaluation.followup_eval import score_followups

    records = read_jsonl(path, ("history", "question"))
    retriever = eval_retriever(settings, embedder_for(settings), None)
    client = llm_client(settings)
    rows = score_followups(retriever, records, FollowupRewriter(client))
    if as_json:
        print(_json([r.__dict__ for r in rows]))
        return 0
    how = f"LLM {settings.llm_model}" if client else "rules (no LLM configured)"
    print(f"{path} ({len(records)} conversations); rewrite by {how}")
    _print_grid(FOLLOWUP_HEADER, rows, lambda r: False)
    return 0


def _eval_answers(retriever: Retriever, settings: Settings, questions: list, as_json: bool) -> int:  # type: ignore[type-arg]
    from service.answering.extractive import ExtractiveAnswerer
    from service.answering.serving import refusal_policy
    from service.evaluation.answer_eval import HEADER as ANSWER_HEADER
    from service.evaluation.answer_eval import score_answers

    answerer = ExtractiveAnswerer(retriever, refusal_policy(settings), settings.answer_max_chars)
    grid = sorted({0.3, 0.5, 0.7, 0.9, 1.0, 1.1, 1.2, settings.refusal_threshold})
    rows = score_answers(answerer, questions, grid)
    if as_json:
        print(_json([r.__dict__ for r in rows]))
        return 0
    print(f"{len(questions)} questions; configured threshold {settings.refusal_threshold}")
    _print_grid(ANSWER_HEADER, rows, lambda r: r.threshold == settings.refusal_threshold)
    return 0


def _print_grid(header: str, rows: Sequence[Any], configured: Callable[[Any], bool]) -> None:
    """A table of eval rows, the one the settings use marked."""
    print(header)
    for row in rows:
        print(row.row() + ("  <- configured" if configured(row) else ""))


def _json(data: object) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, indent=2)


def cmd_match(args: argparse.Namespace, settings: Settings) -> int:
    from service.api.presenters import match_out, profile_out
    from service.matching.matcher import build_profile, grouped

    snapshot = _holder(settings).snapshot().including_expired(args.include_expired)
    matcher, statuses = snapshot.matcher, snapshot.statuses.by_document()
    profile = build_profile(matcher.taxonomy, args.industry, args.qualification, args.need,
                            args.foreign_staff, args.text)
    matches = matcher.match(profile)
    shown = matches[: args.limit or None]
    if args.json:
        items = [match_out(m, matcher.explain(m, profile), i, statuses).model_dump()
                 for i, m in enumerate(shown, 1)]
        print(_json({"total": len(matches), "profile": profile_out(profile).model_dump(),
                     "matches": items}))
        return 0
    print(f"共 {len(matches)} 项适用的政策和服务（{profile.describe()}）")
    rank = {m.card.passage.id: i for i, m in enumerate(matches, 1)}
    for group, members in grouped(shown, profile, once=True):
        print(f"\n【{group}】")
        for match in members:
            passage = match.card.passage
            print(f"{rank[passage.id]}. {passage.heading or passage.title}  score={match.score}")
            print(f"   理由：{'；'.join(match.reasons)}")
            summary = matcher.explain(match, profile).summary.text
            print(textwrap.indent(textwrap.fill(summary, 60), "   "))
            print(f"   来源：{passage.title}（{passage.date or '日期不详'}）{passage.id}")
            print(f"   {policy_line(statuses.get(passage.document_id))}")
    if len(shown) < len(matches):
        print(f"\n另有 {len(matches) - len(shown)} 项未列出（去掉 --limit 可看全部）")
    return 0


def cmd_eval_match(args: argparse.Namespace, settings: Settings) -> int:
    from service.evaluation.match_eval import HEADER as MATCH_HEADER
    from service.evaluation.match_eval import score_matching

    matcher = _holder(settings).snapshot().matcher
    scores = score_matching(matcher, read_jsonl(args.profiles, ("profile",)))
    if args.json:
        print(_json(scores.__dict__))
        return 0
    print(f"{args.profiles} over index {matcher.index.version}")
    print(MATCH_HEADER)
    print(scores.row())
    for line in (*(f"missed: {m}" for m in scores.misses), *(f"leaked: {x}" for x in scores.leaks)):
        print(line)
    return 0
