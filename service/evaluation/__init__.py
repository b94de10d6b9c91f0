"""Question sets to figures: retrieval hit@k/MRR, refusal precision/recall, matching recall.

Takes in: JSONL question (and passage) sets and a built index.
Gives out: printed tables; nothing is changed.
"""
