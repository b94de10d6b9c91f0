"""schemathesis over the whole OpenAPI description, on the real app over a real small index:
no request it can make gives a 5xx or a reply that breaks the documented schema. Bounded:
a few dozen examples per operation, derandomized (the same cases every run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import response_schema_conformance

from service.api.app import create_app
from service.core.settings import Settings
from service.embedding.embedders import Embedder

pytestmark = pytest.mark.slow
TOKEN = "fuzz-token"
CHECKS = [not_a_server_error, response_schema_conformance]
EXAMPLES = 15  # per operation and generation mode (valid, invalid): 30 per operation
ADMIN_EXAMPLES = 8  # each upload or delete reindexes


def fuzz(schema: BaseSchema, examples: int, headers: dict[str, str] | None = None) -> list[str]:
    """Every operation, valid and invalid requests; one line per failing operation."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(max_examples=examples, deadline=None, derandomize=True,
                                 database=None, suppress_health_check=list(HealthCheck),
                                 phases=[Phase.explicit, Phase.generate])  # no shrinking
            def check(case: Case) -> None:
                case.call_and_validate(checks=CHECKS, headers=headers)

            try:
                check()
            except Unsatisfiable:  # no invalid request exists (an operation without inputs)
                continue
            except Exception as exc:  # a failed check: report it with the others
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:2000])
    return failures


def _started(app: FastAPI) -> Iterator[FastAPI]:
    with TestClient(app):  # the lifespan loads the index; schemathesis calls the app in process
        yield app


def test_no_request_without_the_token_gives_a_5xx_or_breaks_the_schema(
        settings: Settings, embedder: Embedder) -> None:
    for app in _started(create_app(settings, embedder=embedder)):  # a private copy: it writes
        failures = fuzz(schemathesis.openapi.from_asgi("/openapi.json", app), EXAMPLES)
        assert not failures, "\n\n".join(failures)


def test_no_request_with_the_token_gives_a_5xx_or_breaks_the_schema(
        settings: Settings, embedder: Embedder) -> None:
    private = settings.model_copy(update={"admin_token": TOKEN, "max_upload_bytes": 64 * 1024})
    for app in _started(create_app(private, embedder=embedder)):
        failures = fuzz(schemathesis.openapi.from_asgi("/openapi.json", app), ADMIN_EXAMPLES,
                        headers={"Authorization": f"Bearer {TOKEN}"})
        assert not failures, "\n\n".join(failures)
