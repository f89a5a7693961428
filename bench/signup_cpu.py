"""Signup CPU in one process: where a signup's time goes, without a server or a load driver.

The app, the ``least`` floor (the least any signup of ours must do, ``bench/_least_signup.py``)
and the ``bare`` endpoint (one row into SQLite, ``bench/_bare_signup.py``) are called as WSGI
apps with requests prepared beforehand, each a fresh address, JSON and the HTML form: CPU time
(every thread of this process, so the app's confirmation push counts) per signup, the best of
``--rounds`` rounds of ``--requests``. ``bench/signup.py`` measures the rates under gunicorn;
this one says how much of the app's time is its own beyond what a signup must do.

    python bench/signup_cpu.py [--smoke] [--requests N] [--rounds N]

Redis: a private ``redis-server`` (the limits' counters and the confirmations' list).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from _common import free_port
from signup import (
    LIST,
    SHAPES,
    bare_environment,
    environment,
    least_environment,
    prepare,
    start_redis,
)

SERVERS = ("app", "least", "bare")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="200 requests, 2 rounds")
    parser.add_argument("--requests", type=int, default=3000, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    requests, rounds = (200, 2) if args.smoke else (args.requests, args.rounds)

    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as tmp:
        instance = Path(tmp)
        redis_port = free_port()
        redis = start_redis(redis_port, instance)
        try:
            env = environment(instance, "smtp://127.0.0.1:1")  # nothing sends: no worker runs
            env["NEWSLETTER_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
            prepare(env)
            env.update(bare_environment(env, instance))
            env.update(least_environment(env, instance))
            os.environ.update(env)
            apps = _apps()
            addresses = itertools.count()
            best = {shape: dict.fromkeys(SERVERS, float("inf")) for shape in SHAPES}
            for shape, name in itertools.product(SHAPES, SERVERS):  # warm: templates, connections
                _cpu_per_call(apps[name], shape, 100, addresses)
            for _ in range(rounds):  # taking turns, so a busy moment of the machine hits all
                for shape, name in itertools.product(SHAPES, SERVERS):
                    spent = _cpu_per_call(apps[name], shape, requests, addresses)
                    best[shape][name] = min(best[shape][name], spent)
        finally:
            redis.terminate()
            redis.wait()

    report = {"bench": "signup_cpu", "requests": requests, "rounds": rounds}
    for shape in SHAPES:
        ms = {f"{name}_ms": round(best[shape][name] * 1000, 3) for name in SERVERS}
        app, least, bare = (best[shape][name] for name in SERVERS)
        report[shape] = {**ms, "app_over_least_ms": round((app - least) * 1000, 3),
                         "least_over_bare_ms": round((least - bare) * 1000, 3)}  # fmt: skip
    report["load_average_1m"] = os.getloadavg()[0]
    print(json.dumps(report))


def _apps() -> dict:
    """The three WSGI apps, made after the environment is set (each reads it once)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import _bare_signup
    import _least_signup

    from newsletter import create_app

    return {
        "app": create_app(),
        "least": _least_signup.create_app(),
        "bare": _bare_signup.create_app(),
    }


def _cpu_per_call(app, shape: str, count: int, addresses) -> float:  # type: ignore[no-untyped-def]
    """CPU seconds per request of ``count`` signups, each a new address."""
    from werkzeug.test import EnvironBuilder

    environs = []
    for n in itertools.islice(addresses, count):
        fields = {"email": f"cpu-{n}@example.org", "lists": [LIST]}
        if shape == "json":
            body, kind = json.dumps(fields), "application/json"
        else:
            body, kind = urlencode(fields, doseq=True), "application/x-www-form-urlencoded"
        builder = EnvironBuilder(method="POST", path="/subscribe", data=body, content_type=kind)
        environs.append({**builder.get_environ(), "REMOTE_ADDR": "127.0.0.1"})

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        if not status.startswith("200"):
            raise SystemExit(f"signup answered {status}")

    started = time.process_time()
    for environ in environs:
        body = app(environ, start_response)
        b"".join(body)
        getattr(body, "close", lambda: None)()
    return (time.process_time() - started) / count


if __name__ == "__main__":
    main()
