"""The Slack surface: @mentions, DMs and thread follow-ups become runs; runs come back as
threaded answers, one status message updated in place, and approval and question cards.

    channel.py    SlackChannel: the Bolt app at POST /slack/events and the outbox dispatcher;
                  SlackSurface (SURFACE_SPEC), what the composition root registers
    setup.py      POST /slack/events before the secrets are set: Slack's URL check only
    ingress.py    events → runs (dedupe by event_id, never answering bots)
    actions.py    button clicks and modals → decisions and answers
    identity.py   workspace → tenant, Slack user → product user, admins
    renderer.py   run events → outbox items (pure), under the Slack response profile
    blocks.py     Block Kit cards;  mrkdwn.py, split.py  Markdown → safe mrkdwn, in pieces
    sink.py       outbox items → Web API calls, within Slack's rate limits
"""

from channels.slack.channel import SlackChannel, SlackSurface, slack_renderer
from channels.slack.renderer import SlackRenderer

SURFACE_SPEC = SlackSurface()  # what the composition root registers (channels.surface)

__all__ = ["SURFACE_SPEC", "SlackChannel", "SlackRenderer", "SlackSurface", "slack_renderer"]
