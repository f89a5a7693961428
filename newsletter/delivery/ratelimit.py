"""``NEWSLETTER_SEND_RATE``: messages per second shared by every worker on every host.

A GCRA-style reservation: one shared "next free slot" time. Each message reserves the next
slot (one atomic Lua call in Redis, or a lock in process when embedded) and sleeps until
it. Slots are 1/rate apart, so the rate holds however many workers ask, with no burst.
"""

from __future__ import annotations

import threading
import time

from flask import current_app

from ..jobs import queues

# KEYS[1]: the slot time; ARGV[1]: seconds per message. Returns seconds to wait (as text:
# Lua numbers become integers on the way out of Redis).
_RESERVE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < t then slot = t end
redis.call('SET', KEYS[1], tostring(slot + tonumber(ARGV[1])), 'PX', 60000)
return tostring(slot - t)
"""

_lock = threading.Lock()
_local_slot = 0.0


def reserve() -> float:
    """Reserve the next send slot; return how many seconds until it (0 when uncapped)."""
    rate = current_app.config["SEND_RATE"]
    if rate <= 0:
        return 0.0
    interval = 1.0 / rate
    conn = queues.redis()
    if conn is not None:
        script = conn.register_script(_RESERVE)
        return float(script(keys=[queues.key("delivery", "rate-slot")], args=[interval]))
    global _local_slot
    with _lock:
        now = time.monotonic()
        slot = max(_local_slot, now)
        _local_slot = slot + interval
    return slot - now


def wait_turn() -> None:
    """Block until this worker may send its next message under the shared rate."""
    delay = reserve()
    if delay > 0:
        time.sleep(delay)
