"""Background enrichment runs: any number of conversations, stored progress, cancel and
retry, worked on by jobs of the job engine.

- ``lifecycle``: start (at most one unfinished run per scope), cancel, retry failed, repair;
- ``lanes``: the jobs that work through a run, a chunk at a time;
- ``items``: storing a run's items, one statement for a selection of any size.

The jobs themselves are in ``enrichment.tasks``.
"""
