"""Sending issues: fan-out to one Delivery per subscriber, batch jobs that send them exactly once,
and the controls (pause, resume, cancel, retry) around them.

Stages, each in its own module: ``fanout`` (audience -> Delivery rows), ``jobs`` (RQ entry
points), ``batch`` (one batch: render, personalise, send), ``state`` (the only code that
changes a Delivery's or an Issue's sending state), ``reaper`` and ``scheduler`` (periodic
chores), ``ratelimit`` and ``leases`` (shared counters in Redis, or in process when embedded).
"""
