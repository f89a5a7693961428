"""CSV import and export of subscribers.

``rows`` reads the file, ``importer`` moves it into a list chunk by chunk (``staging`` holds
its set-based SQL), ``uploads`` keeps an uploaded file in the database for a worker on any
host, ``jobs`` runs an upload in the background and resumes it, ``exporter`` streams the
export, and ``commands`` gives ``newsletter import`` and ``newsletter export``.
"""
