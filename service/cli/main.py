"""The `policybot` command: reindex, add, remove, search, ask, serve, eval, backup,
restore, versions, rollback, migrate-sqlite."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from service.core.errors import ServiceError
from service.core.settings import Settings, describe_settings_error


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        settings = settings_from(args)
    except ValidationError as exc:
        print(f"policybot: {describe_settings_error(exc)}", file=sys.stderr)
        return 2
    try:
        return int(args.handler(args, settings) or 0)
    except ServiceError as exc:
        print(f"policybot: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def settings_from(args: argparse.Namespace) -> Settings:
    """Environment settings, with --corpus / --index overriding (and exported for workers)."""
    overrides = {}
    for flag, field in (("corpus", "corpus_dir"), ("index", "index_dir")):
        value = getattr(args, flag, None)
        if value:
            overrides[field] = Path(value)
            os.environ[f"POLICYBOT_{field.upper()}"] = str(value)
    return Settings().model_copy(update=overrides)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policybot", description=__doc__)
    commands = parser.add_subparsers(title="commands")
    from service.cli import admin_commands as a
    from service.cli import commands as c
    from service.cli import data_commands as d
    from service.index.library import UPLOAD_SUFFIXES

    def add(name: str, handler, help_text: str) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        sub.add_argument("--corpus",
                         help="corpus folder (default: POLICYBOT_CORPUS_DIR or corpus/)")
        sub.add_argument("--index", help="index folder (default: POLICYBOT_INDEX_DIR or index/)")
        return sub

    add("reindex", c.cmd_reindex, "build a new index version from the corpus folder")
    add_files = add("add", a.cmd_add, "store policy files in <corpus>/uploads/ and reindex")
    add_files.add_argument("files", nargs="+", metavar="FILE", help=" ".join(UPLOAD_SUFFIXES))
    for field in ("id", "title", "source", "date", "agency", "doc-number"):
        add_files.add_argument(f"--{field}", help=f"the document's {field} (stored as metadata)")
    for field in ("issued", "effective", "expires"):
        add_files.add_argument(f"--{field}", metavar="YYYY-MM-DD", help=f"policy {field} date")
    add_files.add_argument("--replaces", help="ids or numbers of the notices it replaces "
                           "(comma-separated)")
    remove = add("remove", a.cmd_remove, "remove a document from the corpus and reindex")
    remove.add_argument("id", help="document id, as listed by GET /api/v1/documents")
    search = add("search", c.cmd_search, "show the passages that best match a query")
    search.add_argument("query")
    search.add_argument("-k", "--top-k", type=int, default=5)
    search.add_argument("--mode", choices=("hybrid", "dense", "bm25", "chars"), default="hybrid")
    search.add_argument("--json", action="store_true", help="print the API's JSON shape")
    search.add_argument("--include-expired", action="store_true",
                        help="also search notices that expired or were replaced")
    ask = add("ask", c.cmd_ask, "answer a question with numbered sources")
    ask.add_argument("question")
    ask.add_argument("-k", "--top-k", type=int, default=None)
    ask.add_argument("--json", action="store_true", help="print the API's JSON shape")
    ask.add_argument("--stream", action="store_true",
                     help="print each verified sentence as it arrives (as /ask with stream)")
    ask.add_argument("--include-expired", action="store_true",
                     help="also answer from notices that expired or were replaced")
    serve = add("serve", c.cmd_serve, "serve the API and web page (builds the index if missing)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    evaluate = add("eval", c.cmd_eval, "measure retrieval (hit@k, MRR), refusal, the answer "
                   "verifier or follow-up retrieval")
    evaluate.add_argument("--passages", type=Path, help="JSONL passages; omit to use the corpus")
    evaluate.add_argument("--questions", type=Path)
    evaluate.add_argument("--verifier", type=Path, metavar="FILE",
                          help="labelled sentences (tests/data/verifier_labelled.jsonl): "
                               "precision/recall of the sentence verifier")
    evaluate.add_argument("--followups", type=Path, metavar="FILE",
                          help="two-turn conversations (tests/data/followups.jsonl): hit@1/5 "
                               "alone, concatenated, rewritten")
    evaluate.add_argument("--facts", type=Path, metavar="LABELS",
                          help="hand labels of notices (bench/data/policy_facts_labels.jsonl) "
                               "with --passages: precision/recall of the policy facts read "
                               "from text")
    evaluate.add_argument("--part", help="with --facts: only labels of this part (tune, test)")
    evaluate.add_argument("--mode", choices=("hybrid", "dense", "bm25", "chars", "all"),
                          default="all")
    evaluate.add_argument("--limit", type=int, default=0, help="use only the first N questions")
    evaluate.add_argument("--refusal", action="store_true",
                          help="questions carry 'answerable': report refusal precision/recall")
    evaluate.add_argument("--answers", action="store_true",
                          help="questions carry 'answers': report answer containment and "
                          "refusal with the gold documents hidden")
    evaluate.add_argument("--json", action="store_true")
    match = add("match", c.cmd_match, "list every policy and service that applies to an enterprise")
    for flag, example in (("industry", "生物医药"), ("qualification", "专精特新 or 高企"),
                          ("need", "融资 人才 用地 审批 出口")):
        match.add_argument(f"--{flag}", action="append", default=[],
                           help=f"a name or synonym, e.g. {example} (repeatable)")
    match.add_argument("--foreign-staff", action="store_true", help="it employs foreign staff")
    match.add_argument("--text", help="free text describing the enterprise (tagged, merged in)")
    match.add_argument("--limit", type=int, default=0, help="show only the first N matches")
    match.add_argument("--json", action="store_true", help="print the API's JSON shape")
    match.add_argument("--include-expired", action="store_true",
                       help="also match notices that expired or were replaced")
    evaluate_match = add("eval-match", c.cmd_eval_match,
                         "measure matching recall/exclusion on profiles with must_include phrases")
    evaluate_match.add_argument("profiles", type=Path,
                                help="JSONL, e.g. tests/data/match_profiles.jsonl")
    evaluate_match.add_argument("--json", action="store_true")
    backup = add("backup", d.cmd_backup, "copy databases, the current index version and "
                 "the uploads into a new folder (safe while a server runs)")
    backup.add_argument("folder", help="a new or empty folder")
    restore = add("restore", d.cmd_restore, "bring a backup back into the configured folders")
    restore.add_argument("folder", help="a folder written by `policybot backup`")
    restore.add_argument("--force", action="store_true",
                         help="replace existing index versions, databases and uploads")
    add("versions", d.cmd_versions, "list the kept index versions (* marks the current one)")
    roll = add("rollback", d.cmd_rollback, "make an earlier index version current")
    roll.add_argument("version", nargs="?", help="default: the version before the current one")
    migrate = add("migrate-sqlite", d.cmd_migrate_sqlite,
                  "copy feedback, unanswered questions, reindex jobs and uploads from the data "
                  "and corpus folders into POLICYBOT_DATABASE_URL (rerunning copies nothing "
                  "twice)")
    migrate.add_argument("--data", help="data folder to copy from (default: "
                         "POLICYBOT_DATA_DIR or data/)")
    return parser

