"""Query counts of lists."""

# Counting a list: the planner's estimate comes first (one EXPLAIN), and the rows are
# counted only when it is below LIST_EXACT_COUNT_LIMIT.
COUNT_QUERIES = 2
