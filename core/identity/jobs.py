"""Identity's scheduler entry points (registered by scheduler.py): housekeeping of reset tokens and login locks."""
from __future__ import annotations

import logging

from core.common.uow import UnitOfWork
from core.errors import DomainError
from core.identity import housekeeping as sweep

log = logging.getLogger("igny8.scheduler")


def housekeeping(uow: UnitOfWork) -> None:
    """Expired reset tokens and elapsed login locks in one short transaction; a failure is logged, not raised."""
    try:
        with uow() as session:
            changed = sweep.run(session)
        log.info("housekeeping %s", changed)
    except DomainError as exc:
        log.error("housekeeping failed: %s", exc)
