"""Questions to cited answers: hybrid retrieval, fusion, evidence and refusal, excerpts.

Takes in: a question (and optionally a profile) and the served index version (IndexHolder).
Gives out: Hits and an Answer whose every sentence is a quoted span with its citation.
"""
