"""Passages to a versioned, searchable index: FAISS vectors, BM25, the CURRENT pointer, uploads.

Takes in: a corpus folder (built through ingest and embedding), uploads, reindex requests.
Gives out: index/versions/<v>/ with a manifest, LoadedIndex to search, jobs with progress.
"""
