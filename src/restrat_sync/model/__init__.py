"""The portfolio over time, pure: items, timelines, the graph with memory, periods (no I/O)."""
