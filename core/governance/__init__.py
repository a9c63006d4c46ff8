"""Governance: who must approve a tool call, structured questions, guardrails. Enforced by the
runtime, not the prompt."""
