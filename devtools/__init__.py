"""Development tools: the demo data and its seeding, the benchmark, real worker processes.

Not product code: `enrichment` and `batches` never import this package.
"""
