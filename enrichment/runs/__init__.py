"""Background enrichment runs: any number of conversations, stored progress, cancel,
retry, and recovery from crashed workers.

- ``lifecycle``: start (at most one unfinished run per scope), cancel, retry failed, repair;
- ``lanes``: a worker's share of a run, a chunk of items at a time;
- ``watchdog``: noticing runs that stopped making progress.

The tasks that run lanes and watchdogs live in ``enrichment.tasks``.
"""
