"""`adrs dashboard`: a read-only web application over runs' databases, live.

    catalog.py   which runs the dashboard shows (archive folders, database URLs)
    views.py     the JSON each page reads, built from the archive read API
    app.py       the Starlette application: pages, JSON endpoints, token, headers
    static/      the single page (HTML, JS, CSS), served from here: no CDN

Everything it shows was written by a model or a candidate, so the page puts text
into the document only as text (never as HTML), and the server forbids inline
scripts (Content-Security-Policy). It opens databases read-only and has no
endpoint that writes.
"""
