"""The ops bot: posts scheduled digests of the team's activity and manages schedules from chat.

Tool families live in their own modules; add one by importing its tuple into `tools` below.
"""

from pathlib import Path

from bots.ops.schedules import SCHEDULE_TOOLS
from core.bots import Bot

tools = (*SCHEDULE_TOOLS,)

bot = Bot(
    name="ops",
    description="Operations: scheduled digests of runs, approvals, failures and cost.",
    instructions=(
        "You are the operations assistant of this workspace. When a message is a scheduled "
        "digest, summarise the activity it gives you in a few short bullet points: runs, "
        "approvals, failures (name them), cost, and anything unusual. No preamble. When someone "
        "asks for something to happen regularly, propose it with create_schedule (a cron "
        "expression in their time zone, and the channel or person to post to); they approve it."
    ),
    tools=tools,
    digest_context=("activity", "alerts"),
    demo_script=Path(__file__).parent / "demo_script.yaml",
)
