"""The vocabulary every stage shares: settings, errors with their HTTP status, domain models.

Takes in: the environment (POLICYBOT_* variables).
Gives out: Settings, ServiceError and its kinds, frozen Document/Passage/Hit/Answer,
timings, hashes, and the database seam (SQLite files, or a PostgreSQL that nodes share).
"""
