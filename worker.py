"""``python worker.py``: an RQ worker for ``NEWSLETTER_REDIS_URL``.

Any number may run, on any host. The app is built once per process; jobs run in this
process (RQ's SimpleWorker) so each job costs no fork, and every job ends with a clean
database session.
"""

from __future__ import annotations

import sys

from newsletter.jobs.worker import run

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
