"""Where each Teams conversation lives: its Bot Framework conversation reference (service URL,
conversation id, the bot's own account), saved on every activity that arrives, by tenant.

Replies, updates and proactive posts all go through this record: the renderer is pure and only
knows a run's thread key, and a proactive message (a scheduled run, a notice) has no incoming
activity to answer. The service URL is only ever taken from an authenticated activity.

The record is core's `ConversationReference` and the store is core/store/conversations.py (the
context store's `conversations`); Teams names them here.
"""

from __future__ import annotations

from core.records import ConversationReference as Conversation
from core.store.conversations import ConversationStore

__all__ = ["Conversation", "ConversationStore"]
