"""The shop's application tier: the HTTP API over the shop database.

`api` (the FastAPI app, `create_app`), `db` (the data access), and the process entry points:
`prestart` (the image's entry point: migrate, then run the command), `main` (the server) and
`housekeeping` (the scheduled pass).
"""
