"""Files to clean documents: readers by suffix, an extraction cache, cleaning, sentences, passages.

Takes in: a corpus folder or uploaded bytes (PDF, DOCX, HTML, TXT/MD, JSONL).
Gives out: Documents with cleaned text and metadata, and their sentence-aligned Passages.
"""
