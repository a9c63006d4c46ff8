"""Proactive runs on a timetable, fired through the core's entry points.

ports.py     the Schedule record, FireHandler (one per kind) and DigestSource protocols
triggers.py  fire times from APScheduler 3's cron/interval triggers, DST-corrected
runner.py    the firing loop: claim each (schedule, fire time) once in the store, dispatch by kind
digest.py    the built-in "digest" kind: a run as the schedule's owner, delivered by the outbox
sources.py   built-in digest context (the tenant's activity)
"""
