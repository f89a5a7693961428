"""The job runtime: where jobs go, who runs them, what runs on a timer, who writes when.

- ``queues``: RQ on Redis, or the embedded in-process queue, behind one ``enqueue``;
- ``worker``: the process behind ``python worker.py`` and ``newsletter worker``;
- ``tick``: the periodic chores (due schedules, the reaper, purges, retention);
- ``writer``: the one SQLite-writer turn, shared by the threads and processes of a host;
- ``commands``: ``newsletter worker`` and ``newsletter tick``;
- ``aliases``: old module paths of RQ jobs queued before a module moved.
"""
