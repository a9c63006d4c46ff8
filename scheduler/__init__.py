"""Proactive runs on a timetable (digests, anomaly checks), fired through the core's entry points.

Not built yet: see the scheduler issue. The package exists so the layout and layering contract hold.
"""
