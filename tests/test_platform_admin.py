"""Global rows (providers, AI models, the keyword library, the price table, the system AI defaults) are shared by
every account: only platform admins — developers and the owners and admins of a system account — change them. A
customer account's owner or admin is refused in core, having written nothing; reading stays open to them. The system
flag is the developers' to set."""
from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from sqlalchemy import select

from core import tenancy
from core.ai import models as ai_models
from core.ai import providers
from core.ai import settings as ai_settings
from core.billing import pricing
from core.errors import AccessDenied
from core.identity import accounts, auth, sites
from core.planner import library
from db.enums import Role
from db.models import Account, User
from tests import factories as f

_n = itertools.count(1)
SHARED = "shared by every account"


@pytest.fixture
def rows(session) -> dict[str, int]:
    """Ids of the global rows the writes touch: two seeded text models, an industry sector and a library keyword."""
    industry = sites.list_industries(session)[0]
    isec = sites.list_industry_sectors(session, industry_id=industry.id)[0]
    seed = library.create_seed(session, tenancy.operator_actor(), industry_sector_id=isec.id, keyword="seed kw")
    return {"isec": isec.id, "seed": seed.id, "gpt4o": ai_models.get_by_name(session, model_name="gpt-4o").id,
            "mini": ai_models.get_by_name(session, model_name="gpt-4o-mini").id}


def _global_writes(s, a: tenancy.Actor, r: dict[str, int]) -> dict[str, Callable[[], object]]:
    """Every core function that writes a global row; names and keywords are new on every call."""
    return {
        "update_provider": lambda: providers.update_provider(s, a, provider_id="openai", api_key=f"sk-{next(_n)}-x"),
        "create_model": lambda: ai_models.create_model(s, a, model_name=f"model-{next(_n)}", model_type="text",
                                                       provider="openai", display_name="New", tokens_per_credit=900),
        "update_model": lambda: ai_models.update_model(s, a, model_id=r["mini"], display_name=f"Mini {next(_n)}"),
        "set_default": lambda: ai_models.set_default(s, a, model_id=r["gpt4o"]),
        "create_seed": lambda: library.create_seed(s, a, industry_sector_id=r["isec"], keyword=f"seed {next(_n)}"),
        "update_seed": lambda: library.update_seed(s, a, seed_id=r["seed"], volume=next(_n)),
        "set_active": lambda: library.set_active(s, a, seed_ids=[r["seed"]], active=True),
        "import_seeds": lambda: library.import_seeds(s, a, industry_sector_id=r["isec"],
                                                     data=f"Keyword\nimported {next(_n)}\n".encode()),
        "update_cost": lambda: pricing.update_cost(s, a, operation_type="reparse", base_credits=next(_n) % 100),
        "update_system_defaults": lambda: ai_settings.update_system_defaults(s, a, max_tokens=1024 + next(_n)),
    }


@pytest.mark.parametrize("role", [Role.owner, Role.admin])
def test_a_customer_accounts_owner_or_admin_changes_no_global_row(session, rows, role):
    customer = f.actor(session, f.user(session, f.account(session), role=role))
    assert customer.is_admin and not customer.is_platform_admin
    for label, write in _global_writes(session, customer, rows).items():
        err = f.refused(session, AccessDenied, write)
        assert SHARED in str(err) and "system account" in str(err), label
    # Reading stays as it was: masked providers and the model list.
    assert {p.provider_id for p in providers.list_providers(session, customer)} >= {"openai", "runware"}
    assert ai_models.list_models(session)


@pytest.mark.parametrize("role", [Role.owner, Role.admin])
def test_the_system_accounts_owner_or_admin_changes_global_rows(session, rows, role):
    system = f.platform_admin(session, role=role)
    assert system.is_platform_admin
    for write in _global_writes(session, system, rows).values():
        write()
    assert ai_models.default_model(session, model_type="text").id == rows["gpt4o"]


def test_developers_change_global_rows(session, rows):
    developer = f.actor(session, f.user(session, None, role=Role.developer))
    for actor in (developer, developer.in_account(f.account(session).id), tenancy.operator_actor()):
        assert actor.is_platform_admin
        for write in _global_writes(session, actor, rows).values():
            write()


def test_the_system_accounts_editors_and_viewers_are_not_platform_admins(session, rows):
    system_account = f.account(session, is_system=True)
    for role in (Role.editor, Role.viewer):
        member = f.actor(session, f.user(session, system_account, role=role))
        assert member.platform is False
        f.refused(session, AccessDenied, _global_writes(session, member, rows)["update_provider"])
    # The flag alone is not enough: the role must be owner or admin (or developer).
    assert not tenancy.Actor(None, Role.editor, system_account.id, None, platform=True).is_platform_admin


def test_only_developers_set_the_system_flag(session):
    customer = f.account(session)
    customer_owner = f.owner_actor(session, customer)
    for who in (customer_owner, f.platform_admin(session)):
        err = f.refused(session, AccessDenied, lambda a=who: accounts.update_account(
            session, a, account_id=a.account_id, is_system=not session.get(Account, a.account_id).is_system))
        assert "Only a developer" in str(err)
    f.refused(session, AccessDenied, lambda: accounts.create_account(session, customer_owner, name="Sneaky",
                                                                     is_system=True))
    dev = tenancy.operator_actor()
    made = accounts.create_account(session, dev, name="Platform Team", is_system=True)
    assert made.is_system and not accounts.create_account(session, dev, name="Customer Co").is_system
    owner = f.user(session, customer, role=Role.owner)
    assert not f.actor(session, owner).is_platform_admin
    accounts.update_account(session, dev.in_account(customer.id), account_id=customer.id, is_system=True)
    assert f.actor(session, owner).is_platform_admin  # the flag is read when the actor is built
    accounts.update_account(session, dev.in_account(customer.id), account_id=customer.id, is_system=False)
    assert not f.actor(session, owner).is_platform_admin


def test_the_first_owner_runs_the_platform(session):
    first = auth.ensure_first_owner(session, email="boss@example.com", password="first-owner-42")
    assert first is not None
    owner = session.scalars(select(User).where(User.email == first.email)).one()
    assert session.get(Account, owner.account_id).is_system
    assert tenancy.actor_for(session, owner).is_platform_admin
