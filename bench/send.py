"""Sending throughput end to end: N confirmed subscribers, a ~10 KB issue, W worker processes,
a lean SMTP sink on 127.0.0.1 in its own process. Prints one JSON line.

    python bench/send.py --recipients 100000 --workers 2
    python bench/send.py --smoke

``raw_limit_per_s`` is measured in the same run: W processes looping plain smtplib over
one reused connection each, sending the same pre-built bytes to the same sink. It is the
ceiling this machine and sink allow; ``share_of_raw`` is how close the engine gets. The raw
loops run before and after the engine (``raw_runs_per_s``) and their mean is the limit, so a
change in the machine's other load during the run shifts both sides alike.
``raw_cpu_ms_per_message`` is the raw loops' CPU (theirs and the sink's) per message, to set
beside the engine's ``cpu_ms_per_message``: a ratio that other load on the machine hardly moves.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import smtplib
import threading
import time
from pathlib import Path

from _common import Installation, Sink, bench_run, cpu_seconds, peak_rss_mb, report, rss_mb


def _raw_loop(port: int, data: bytes, count: int) -> None:
    conn = smtplib.SMTP("127.0.0.1", port)
    for n in range(count):
        conn.sendmail("bounces@example.org", [f"raw{n}@example.net"], data)
    conn.quit()


def raw_limit(sink: Sink, data: bytes, workers: int, count: int) -> tuple[float, float]:
    """Messages/s of W plain smtplib loops sending pre-built bytes over reused connections,
    and their CPU (loops and sink) per message in ms."""
    per = max(1, count // workers)
    procs = [
        multiprocessing.Process(target=_raw_loop, args=(sink.port, data, per))
        for _ in range(workers)
    ]
    cpu_before = _children_cpu() + cpu_seconds(sink.process.pid)
    start = time.time()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    rate = per * workers / (time.time() - start)
    cpu = _children_cpu() + cpu_seconds(sink.process.pid) - cpu_before
    sink.reset()
    return rate, cpu * 1000 / (per * workers)


def _children_cpu() -> float:
    """User + system CPU of this process's ended (waited-for) children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sample_message(inst: Installation) -> bytes:
    """One subscriber's copy, made as the engine makes it (for the raw loops)."""
    from types import SimpleNamespace

    from newsletter.delivery import copies

    with inst.app.app_context():
        subscriber = SimpleNamespace(
            id=1,
            subscriber_id=1,
            email="reader0@example.net",
            name="Reader 0",
            attributes={},
            language=None,
        )
        return copies.personalise(copies.prepare(inst.issue_id), subscriber).data


def dkim_settings(inst: Installation) -> dict[str, str]:
    """A fresh 2048-bit key in the installation's folder, as the settings that name it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = inst.dir / "dkim.pem"
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    return {"DKIM_KEY_FILE": str(path), "DKIM_SELECTOR": "bench"}


def use_dkim(inst: Installation) -> None:
    """Sign every copy, the raw loops' one included."""
    dkim = dkim_settings(inst)
    inst.settings.update(dkim)  # the workers' environment
    inst.app.config.update(dkim)  # sample_message's copy


def copy_cpu(inst: Installation, count: int, rounds: int = 3) -> dict[str, float]:
    """CPU ms to build one copy unsigned and signed (and signed as before: dkimpy over the
    finished copy), and of the bare RSA-2048 signature of a SHA-256 digest (OpenSSL), in this
    one process, the kinds taking turns; best round each."""
    from types import SimpleNamespace

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, utils

    from newsletter.delivery import copies
    from newsletter.mail.dkim import Signer

    rows = [
        SimpleNamespace(
            id=n, subscriber_id=n, email=f"reader{n}@example.net", name=f"Reader {n}",
            attributes={}, language=None,
        )
        for n in range(1, count + 1)
    ]  # fmt: skip
    dkim = dkim_settings(inst)
    pem = Path(dkim["DKIM_KEY_FILE"]).read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    whole = Signer.from_files(dkim["DKIM_KEY_FILE"], "bench", inst.app.config["FROM"])
    digest = hashes.Hash(hashes.SHA256())
    digest.update(b"x" * 1000)
    prehashed = digest.finalize()
    config = inst.app.config
    saved = {k: config.get(k) for k in dkim}

    def build(signed: bool, whole_message: bool = False) -> float:
        config.update(dkim if signed else dict.fromkeys(dkim))
        prepared = copies.prepare(inst.issue_id)
        copies.personalise(prepared, rows[0])  # the first copy of an issue sets things up
        began = time.process_time()
        for row in rows:
            data = copies.personalise(prepared, row).data
            if whole_message:  # as before: dkimpy signing the finished copy
                whole.sign(data)
        return (time.process_time() - began) * 1000 / count

    def rsa_sign() -> float:
        began = time.process_time()
        for _ in range(count):
            key.sign(prehashed, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        return (time.process_time() - began) * 1000 / count

    best = dict.fromkeys(("unsigned", "signed", "signed_whole", "rsa_sign"), float("inf"))
    with inst.app.app_context():
        for _ in range(rounds):
            best["unsigned"] = min(best["unsigned"], build(False))
            best["signed"] = min(best["signed"], build(True))
            best["signed_whole"] = min(best["signed_whole"], build(False, whole_message=True))
            best["rsa_sign"] = min(best["rsa_sign"], rsa_sign())
    config.update(saved)
    best["signing_adds"] = best["signed"] - best["unsigned"]
    best["signing_whole_adds"] = best["signed_whole"] - best["unsigned"]
    return {k: round(v, 3) for k, v in best.items()}


class RssSampler:
    """Each worker's resident set every half second while the issue goes out, beside how many
    mails the sink had accepted by then: memory that grows with the messages sent shows as
    a difference between the sample at a tenth of the mail and the last one."""

    def __init__(self, sink: Sink, pids: list[int]) -> None:
        self.sink, self.pids = sink, pids
        self.samples: list[tuple[int, list[float]]] = [(0, self._rss())]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _rss(self) -> list[float]:
        return [rss_mb(pid) for pid in self.pids]

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.samples.append((self.sink.count, self._rss()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((self.sink.count, self._rss()))

    def at(self, accepted: float) -> list[float]:
        """The first sample taken once ``accepted`` mails had arrived (else the last)."""
        return next((rss for n, rss in self.samples if n >= accepted), self.samples[-1][1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--timeout", type=float, default=None, help="default: 600 s + 2.5 ms/mail")
    parser.add_argument("--dkim", action="store_true", help="DKIM-sign every copy (new key)")
    parser.add_argument("--smoke", action="store_true", help="300 subscribers: checks it runs")
    args = parser.parse_args()
    if args.smoke:
        args.recipients = 300
    timeout = args.timeout or 600 + args.recipients / 400

    with bench_run(args.recipients, args.database_url, args.redis_url, record=True) as (
        sink,
        inst,
    ):
        if args.dkim:
            use_dkim(inst)
        copy_cpu_ms = copy_cpu(inst, 200 if args.smoke else 2000)
        data = sample_message(inst)
        raw_count = min(args.recipients, 20_000)
        raw_before, raw_cpu_before = raw_limit(sink, data, args.workers, raw_count)
        workers = [inst.start_worker() for _ in range(args.workers)]
        inst.wait_workers_ready(workers)
        load_before = os.getloadavg()[0]

        sampler = RssSampler(sink, [p.pid for p in workers])
        cpu_before = sum(cpu_seconds(p.pid) for p in workers) + cpu_seconds(sink.process.pid)
        start = time.time()
        inst.start_sending()
        deadline = start + timeout
        fanout_s = None
        while sink.count < args.recipients and time.time() < deadline:
            if fanout_s is None and not inst.fanning_out():
                fanout_s = time.time() - start
            time.sleep(0.05)
        elapsed = (sink.last or time.time()) - start
        cpu = sum(cpu_seconds(p.pid) for p in workers) + cpu_seconds(sink.process.pid)
        while inst.finished_at() is None and time.time() < deadline:
            time.sleep(0.1)
        sampler.stop()
        send_s = (inst.finished_at() or time.time()) - start
        rss = [peak_rss_mb(p.pid) for p in workers]
        progress = inst.progress()
        received = sink.count
        recipients, duplicates = sink.tally()
        rate = received / elapsed if elapsed > 0 else 0.0
        raw_after, raw_cpu_after = raw_limit(sink, data, args.workers, raw_count)
        raw = (raw_before + raw_after) / 2
        raw_cpu = (raw_cpu_before + raw_cpu_after) / 2
        tenth, last = sampler.at(args.recipients / 10), sampler.samples[-1][1]
        result = {
            "bench": "send",
            "recipients": args.recipients,
            "workers": args.workers,
            "backend": inst.settings["DATABASE_URL"].split(":")[0],
            "dkim": args.dkim,
            "message_bytes": len(data),
            # The subscribers' INSERT ... SELECT, search table and kept counts; not the send.
            "fill_s": round(inst.fill_seconds, 1),
            # From "send" to the last delivery settled (the issue "sent"), and its parts: the
            # fan-out's snapshot with every batch job queued, and the last mail accepted.
            "send_s": round(send_s, 1),
            "fanout_s": round(fanout_s, 1) if fanout_s is not None else None,
            "seconds": round(elapsed, 2),
            "received": received,
            "messages_per_s": round(rate, 1),
            "delivered": progress.sent,
            "duplicates": duplicates,
            "lost": args.recipients - recipients,
            "unknown": progress.unknown,
            "raw_limit_per_s": round(raw, 1),
            "raw_runs_per_s": [round(raw_before, 1), round(raw_after, 1)],
            "share_of_raw": round(rate / raw, 3) if raw else None,
            "peak_rss_mb_per_worker": rss,
            # Each worker's resident set before sending, at a tenth, half and all of the mail.
            "rss_mb": {
                "ready": sampler.samples[0][1],
                "tenth": tenth,
                "half": sampler.at(args.recipients / 2),
                "end": last,
            },
            "rss_growth_mb": round(max(b - a for a, b in zip(tenth, last, strict=True)), 1),
            # CPU (workers + sink) per message: what a faster machine would divide.
            "cpu_ms_per_message": round((cpu - cpu_before) * 1000 / max(1, received), 3),
            "raw_cpu_ms_per_message": round(raw_cpu, 3),
            # One process building copies, signed and not, beside the bare RSA signature.
            "copy_cpu_ms": copy_cpu_ms,
            "load_average_1m": [load_before, os.getloadavg()[0]],
            "status": progress.status,
        }
        ok = (
            received == args.recipients
            and progress.status == "sent"
            and duplicates == 0
            and recipients == args.recipients
        )
        folder = inst.dir
    shutil.rmtree(folder, ignore_errors=True)  # the database alone is ~70 MB at 100 k subscribers
    report(result, ok)


if __name__ == "__main__":
    main()
