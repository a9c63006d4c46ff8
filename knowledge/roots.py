"""Server-side folders a schedule may sync: only under the roots an admin configured
(`SWITCHBOARD_KNOWLEDGE__SYNC_ROOTS`). Both sides are resolved with realpath first, so neither
`..` nor a symlink leads out of a root; a file inside an allowed folder that is a symlink to
somewhere else is skipped by the sync (`Ingestor.sync_folder(within=…)`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from core.errors import InvalidInput


def allowed_folder(roots: Sequence[str], folder: str) -> Path:
    """`folder`, resolved, when it is an existing folder under one of `roots`; else InvalidInput
    (which says nothing of what exists outside the roots)."""
    if not roots:
        raise InvalidInput("no knowledge sync roots are configured (SWITCHBOARD_KNOWLEDGE__SYNC_ROOTS)")
    if not folder or "\x00" in folder or not os.path.isabs(folder):
        raise InvalidInput("the folder must be an absolute path under a configured sync root")
    real = Path(os.path.realpath(folder))
    for root in roots:
        base = Path(os.path.realpath(root))
        if real == base or real.is_relative_to(base):
            if not real.is_dir():
                raise InvalidInput(f"{folder!r} is not a folder")
            return real
    raise InvalidInput(f"{folder!r} is not under a configured sync root")
