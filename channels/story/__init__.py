"""One story, many dialects: what a run and its cards say, written once for every chat surface.

A surface supplies a `Dialect` (how its markup escapes, emphasises, dates and names people, and
which icon stands for what); the story answers with small, surface-neutral descriptions whose
words are already written in that dialect:

    run.tell(event)         a `Telling`: the status line, a card or a card's outcome, a note,
                            the answer, and whether the run is at work (typing)
    run.render(...)         a run's events → outbox items, through the surface's `Voice`
    cards.approval_card …   the cards' title, intro, fields, footer and buttons (`Button`)
    alerts.act / told       what an alert card's click asks of the desk and tells the clicker
    schedules.paused        the owner's note when a scheduled post's place is gone
    channels.refusals       what a refused click is told (all surfaces)
    channels.progress       a tool's name as the status line says it

A surface's renderer, blocks/cards, alerts and proactive modules only turn these descriptions
into Block Kit, Discord components or Adaptive Cards. Nothing here imports a surface.
"""
