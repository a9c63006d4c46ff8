"""Switchboard's runtime: context store, run engine, tools, model gateway and queue.

`core` knows nothing of Slack, Discord, Teams or any scheduler library; the outer
packages (`channels`, `bots`, `scheduler`, `knowledge`) depend on it, never the reverse.
"""
