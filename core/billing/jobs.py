"""Billing's scheduler entry points (registered by scheduler.py): each account's monthly plan credits."""
from __future__ import annotations

import logging

from core import tenancy
from core.billing import credits
from core.common.uow import UnitOfWork
from core.errors import DomainError

log = logging.getLogger("igny8.scheduler")


def plan_credits(uow: UnitOfWork) -> None:
    """Each due account's plan credits as its system actor, one short transaction per account (failures isolated)."""
    with uow() as session:
        due = credits.accounts_due_plan_credits(session)
    granted = 0
    for account_id in due:
        try:
            with uow() as session:
                granted += credits.grant_plan_period(session, tenancy.system_actor(account_id)) is not None
        except DomainError as exc:
            log.error("plan credits for account %s failed: %s", account_id, exc)
    if due:
        log.info("plan credits granted to %d of %d due accounts", granted, len(due))
