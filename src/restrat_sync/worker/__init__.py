"""The long-running worker behind ``restrat-sync run``.

- ``schedule``: when the jobs fire. APScheduler triggers built from ``config.schedule`` in
  ``config.timezone``, and the latest firing of a trigger, computed the same on every replica.
- ``locks``: one runner at a time. A per-job lock (a PostgreSQL advisory lock, or a lock file
  with SQLite) keeps two runs of a job from overlapping; the ``job_runs`` table, whose
  (job, firing) pairs are unique, lets only one replica claim each firing.
- ``jobs`` and ``process``: what the jobs do, and the process that schedules them.
- ``signals``: SIGTERM and SIGINT, held from the first moment; the exit deadline.
"""
