"""The support bot: looks up orders on its own; refunds are high-risk side effects."""

from pathlib import Path

from bots.support.tools import lookup_order, refund_order
from core.bots import Bot

bot = Bot(
    name="support",
    description="Customer support: order status and refunds.",
    instructions=(
        "You are the support agent of an online shop. Look up orders with lookup_order before "
        "answering questions about them. Use refund_order only for an order you have looked up, "
        "never for more than the order's total. Be brief and friendly."
    ),
    tools=(lookup_order, refund_order),
    demo_script=Path(__file__).parent / "demo_script.yaml",
)
