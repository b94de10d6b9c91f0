"""What users write, kept: the feedback store and the unanswered-question log (SQLite files,
or the shared PostgreSQL), backups, and the copy of SQLite-era state into PostgreSQL.

Takes in: ratings of answers from the page or the API, refused questions.
Gives out: stored rows, read back by staff.
"""
