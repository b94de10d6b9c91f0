"""Admin routes: add and remove policy documents, rebuild the index.

Every route needs ``Authorization: Bearer <POLICYBOT_ADMIN_TOKEN>``; without a configured
token the admin API is off (403). The routes are thin: they parse the request and call
``library`` or ``jobs``, which the CLI uses too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from service.api.deps import AdminDep, HolderDep, JobsDep, SettingsDep
from service.api.presenters import document_added, job_out
from service.api.schemas import DocumentAdded, DocumentIn, JobOut, JobsOut, error_responses
from service.api.validation import PathName, check_unicode
from service.core.errors import BadRequest, PayloadTooLarge, Unprocessable, UnsupportedMedia
from service.core.settings import Settings
from service.index import library
from service.index.jobs import ReindexJobs, SharedEmbedder
from service.index.library import DocumentMeta

FORM_FIELDS = ("file", "id", "title", "source", "date", "agency", "doc_number", "issued",
               "effective", "expires", "replaces")
UPLOAD_SUFFIXES = " ".join(library.UPLOAD_SUFFIXES)


router = APIRouter(prefix="/api/v1", tags=["admin"], dependencies=[AdminDep],
                   responses=error_responses(401, 403))


@dataclass(frozen=True)
class Submitted:
    """A document as sent: a file from a form, or text from a JSON body."""

    meta: DocumentMeta
    filename: str = ""
    data: bytes = b""
    text: str | None = None  # set for JSON bodies


async def read_upload(request: Request, settings: SettingsDep) -> Submitted:
    """The document in a multipart form or a JSON body (read after the token was checked)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _read_form(request, settings)
    if content_type == "application/json":
        body = _parse_json_body(await request.body())
        meta = DocumentMeta(id=body.id, title=body.title, source=body.source, date=body.date,
                            agency=body.agency, doc_number=body.doc_number, issued=body.issued,
                            effective=body.effective, expires=body.expires,
                            replaces=tuple(body.replaces) if body.replaces is not None else None)
        return Submitted(meta=meta, text=body.text)
    raise UnsupportedMedia(
        f"content type {content_type or 'none'!r} is not accepted; send multipart/form-data "
        'with a "file" field, or application/json {"title": ..., "text": ...}'
    )


async def _read_form(request: Request, settings: Settings) -> Submitted:
    async with request.form(max_files=1, max_fields=len(FORM_FIELDS)) as form:
        unknown = sorted(set(form) - set(FORM_FIELDS))
        if unknown:
            raise BadRequest(f"unknown form fields {unknown}; send {', '.join(FORM_FIELDS)}")
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadRequest(f'the form needs a "file" field with the document ({UPLOAD_SUFFIXES})')
        data = await upload.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise PayloadTooLarge(f"{upload.filename} is larger than the upload limit of "
                                  f"{settings.max_upload_bytes} bytes (POLICYBOT_MAX_UPLOAD_BYTES)")
        fields: dict[str, Any] = {name: _text_field(form.get(name), name)
                                  for name in FORM_FIELDS[1:]}
        fields["replaces"] = library.split_replaces(fields["replaces"])
        return Submitted(meta=DocumentMeta(**fields), filename=upload.filename or "", data=data)


def _text_field(value: object, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return check_unicode(value)
        except ValueError as exc:
            raise Unprocessable(f"form field {name!r}: {exc}") from None
    raise BadRequest(f"form field {name!r} must be text, not a file")


def _parse_json_body(raw: bytes) -> DocumentIn:
    """Parsed with ``json`` (which keeps a lone surrogate for the field check to name)."""
    try:
        return DocumentIn.model_validate(json.loads(raw))
    except (ValueError, RecursionError) as exc:
        if not isinstance(exc, ValidationError):
            raise BadRequest('the request body is not valid JSON; send {"title": ..., "text": ...}'
                             ) from None
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from None


SubmittedDep = Annotated[Submitted, Depends(read_upload)]
UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": f"The document: {UPLOAD_SUFFIXES}"},
                       **{name: {"type": "string"} for name in FORM_FIELDS[1:]}},
    }},
    "application/json": {"schema": DocumentIn.model_json_schema()},
}}}


@router.post("/documents", status_code=201, response_model=DocumentAdded,
             openapi_extra=UPLOAD_BODY, summary="Add or replace a policy document",
             responses={200: {"model": DocumentAdded, "description": "Already indexed"},
                        **error_responses(400, 409, 413, 415, 422)})
def add_document(submitted: SubmittedDep, response: Response, holder: HolderDep,
                 settings: SettingsDep, jobs: JobsDep) -> DocumentAdded:
    """Store the document and reindex; it is searchable when this returns (201), or 200 with
    the indexed document when the same content is already there. The rebuild's progress
    is listed as a job of kind ``upload`` (GET /api/v1/reindex)."""
    embedder = SharedEmbedder(holder.embedder)
    with jobs.track("upload") as progress:
        if submitted.text is not None:
            added = library.add_text(settings, embedder, submitted.text, submitted.meta,
                                     on_progress=progress)
        else:
            added = library.add_file(settings, embedder, submitted.filename, submitted.data,
                                     submitted.meta, on_progress=progress)
    holder.refresh()
    if not added.created:
        response.status_code = 200
    return document_added(added)


@router.delete("/documents/{document_id:path}", status_code=204, response_class=Response,
               summary="Remove a policy document", responses=error_responses(404, 409, 422))
def remove_document(document_id: PathName, holder: HolderDep, settings: SettingsDep,
                    jobs: JobsDep) -> Response:
    with jobs.track("delete") as progress:
        library.remove_document(settings, SharedEmbedder(holder.embedder), document_id,
                                on_progress=progress)
    holder.refresh()
    return Response(status_code=204)


@router.post("/reindex", status_code=202, response_model=JobOut, responses=error_responses(409),
             summary="Rebuild the index from the corpus folder in the background")
def start_reindex(jobs: JobsDep, holder: HolderDep) -> JobOut:
    return job_out(jobs.start(holder.embedder, on_finished=holder.refresh))


@router.get("/reindex", response_model=JobsOut, summary="The last reindex jobs, newest first")
def reindex_jobs(jobs: JobsDep, limit: Annotated[int, Query(ge=1, le=50)] = 10) -> JobsOut:
    return JobsOut(jobs=[job_out(job) for job in jobs.recent(limit)])


@router.get("/reindex/{job_id}", response_model=JobOut, responses=error_responses(404),
            summary="Progress of a reindex job")
def reindex_status(job_id: PathName, jobs: JobsDep) -> JobOut:
    return job_out(jobs.get(job_id))


def install(app: FastAPI) -> None:
    app.state.reindex_jobs = ReindexJobs(app.state.settings)
    app.include_router(router)
