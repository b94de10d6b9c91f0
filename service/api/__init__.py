"""HTTP edge: the FastAPI app, thin routes, pydantic schemas, presenters, the web page.

Takes in: HTTP requests (JSON, forms, the chat page).
Gives out: JSON responses with the house error shape, HTML pages, Server-Timing headers.
"""
