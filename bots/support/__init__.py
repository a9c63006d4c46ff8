"""The support bot: looks up orders on its own; refunds are high-risk side effects; answers
how-to questions from Switchboard's own docs (the demo namespace, knowledge/kit.py)."""

from pathlib import Path

from bots.support.tools import lookup_order, refund_order
from core.bots import Bot
from core.tools.knowledge import search_knowledge

bot = Bot(
    name="support",
    description="Customer support: order status and refunds.",
    instructions=(
        "You are the support agent of an online shop. Look up orders with lookup_order before "
        "answering questions about them. Use refund_order only for an order you have looked up, "
        "never for more than the order's total. For how-to questions, search the documentation "
        "with search_knowledge and cite what you use. Be brief and friendly."
    ),
    # The knowledge namespaces it searches: Switchboard's docs, ingested for the demo tenant.
    tools=(lookup_order, refund_order, search_knowledge(("switchboard-docs",))),
    demo_script=Path(__file__).parent / "demo_script.yaml",
)
