"""CSV import speed: N rows (default 100,000; ``--smoke``: 5,000) into a list on SQLite.

Writes a CSV with email, name and two attribute columns (1 % bad addresses, 1 % repeated),
stores it in the database as the admin's upload does, imports it with the job a worker runs
(reading the stored file back), and prints one JSON line: the upload's seconds, rows/s of
the import, the report's counts, and peak memory (RSS) of this process, which plays both
the web app and the worker, above the starting point.

    python bench/import_csv.py [--smoke] [--rows N] [--pending]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsletter import create_app  # noqa: E402
from newsletter.database import upgrade  # noqa: E402
from newsletter.extensions import db  # noqa: E402
from newsletter.imports import jobs as import_jobs  # noqa: E402
from newsletter.imports import uploads as import_uploads  # noqa: E402
from newsletter.lists import service as list_service  # noqa: E402
from newsletter.models import ImportJob  # noqa: E402


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("email,name,city,plan\n")
        for i in range(rows):
            if i % 100 == 1:
                fh.write(f"not-an-address-{i},Bad {i},Nowhere,free\n")
            elif i % 100 == 2:
                fh.write(f"reader{i - 2}@example{(i - 2) % 50}.org,Again,Paris,free\n")
            else:
                fh.write(f"reader{i}@example{i % 50}.org,Reader {i},City {i % 300},pro\n")


class RSSSampler(threading.Thread):
    """Samples this process's resident memory every 20 ms and keeps the highest value."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = self.current()
        self.done = threading.Event()

    @staticmethod
    def current() -> float:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, self.current())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="5,000 rows instead of 100,000")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--pending", action="store_true", help="queue confirmation mails too")
    args = parser.parse_args()
    rows = args.rows or (5_000 if args.smoke else 100_000)
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as tmp:
        csv_path = Path(tmp) / "subscribers.csv"
        write_csv(csv_path, rows)
        app = create_app({"INSTANCE_DIR": tmp, "SECRET_KEY": "bench"})
        with app.app_context():
            upgrade()
            target = list_service.create("bench", "Bench")
            sampler = RSSSampler()
            baseline = sampler.peak
            sampler.start()
            cpu_began = time.process_time()
            began = time.perf_counter()
            # What imports.jobs.start does, without queueing: the job is run right here.
            job = ImportJob(list_id=target.id, confirmed=not args.pending, note="benchmark data")
            db.session.add(job)
            db.session.flush()
            with csv_path.open("rb") as fh:
                job.total_bytes = import_uploads.store(job.id, fh)
            db.session.commit()
            upload_seconds = time.perf_counter() - began
            began = time.perf_counter()
            import_jobs.run(job.id)  # ends with the search index, as on a worker
            run_seconds = time.perf_counter() - began
            cpu_seconds = time.process_time() - cpu_began
            sampler.done.set()
            report = db.session.get(ImportJob, job.id)
            assert report.status == "done", report.report
            seconds = (report.finished_at - report.started_at).total_seconds()
            index_seconds = run_seconds - seconds
    print(
        json.dumps(
            {
                "bench": "import_csv",
                "rows": rows,
                "upload_s": round(upload_seconds, 2),
                "seconds": round(seconds, 2),
                "rows_per_s": round(rows / seconds),
                "search_index_s": round(index_seconds, 2),
                "accepted": report.accepted,
                "updated": report.updated,
                "rejected": report.rejected,
                "cpu_s": round(cpu_seconds, 2),
                "rss_before_mb": round(baseline, 1),
                "rss_peak_mb": round(sampler.peak, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
