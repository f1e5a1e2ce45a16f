"""The metrics of ``domain.md``: pure functions over work items and their timelines.

- ``flow``: velocity, flow time, flow efficiency, flow load, flow distribution
- ``alignment``: effort per bucket, actual vs planned shares, alignment variance
- ``decisions``: decision time, execution start, decision lag, pending decisions
- ``pivots``: re-parents, theme changes, priority changes, cancellations of decision items
- ``outcomes``: on-time rate of items due in a period, key-result progress
- ``quality``: what the data cannot tell, published beside the numbers
- ``compute``: runs them all per period and scope (the only module that reads the cache)
- ``results``: the shared helpers (percentiles, JSON)
"""
