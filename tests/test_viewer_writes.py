"""Every write function of core, called as a viewer, is refused with AccessDenied and writes nothing — the way the
tenancy walk covers reads. The functions are found by walking core's modules: each public function taking
(session or uow, actor) is listed here either as a write (with a call) or as a read, so a new one cannot slip by
unclassified. Removing the role check from any write (`prompts.create_author_profile` once lost it unnoticed)
fails this test."""
from __future__ import annotations

import importlib
import inspect
import io
import pkgutil
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from PIL import Image

import core
from core.ai import bulk, engine, models, prompts, providers, runs
from core.ai import settings as ai_settings
from core.automation import config as automation_config
from core.automation import runs as automation_runs
from core.billing import credits, pricing
from core.billing.credits import Usage
from core.common import vault
from core.errors import AccessDenied
from core.identity import accounts, sites, users
from core.planner import clusters, ideas, keyword_edits, library
from core.planner.clustering import apply
from core.planner.keyword_import import service as keyword_import
from core.planner.keyword_import.rows import ParsedRow
from core.planner.keywords import KeywordFilter
from core.publishing import connection, doctor, slots, taxonomy
from core.publishing import service as publishing
from core.publishing import settings as publishing_settings
from core.writer import content as articles
from core.writer import images, review, revisions, tasks
from db.enums import RevisionKind, Role
from db.models import AIModelConfig, AutomationRun, Content, Industry, IndustrySector, Tasks, WriterBatch
from tests import factories as f

READS = {
    "core.automation.config": {"get"},
    "core.automation.runs": {"get", "items", "list_runs", "notifications"},
    "core.automation.schedulers": {"status"},
    "core.automation.stages": {"estimate", "plan_clusters", "plan_ideas", "plan_images", "plan_keywords",
                               "plan_prompts", "plan_publishing", "plan_review", "plan_tasks", "typical"},
    "core.ai.bulk": {"get_batch", "latest_batches"},
    "core.ai.prompts": {"author_values", "list_author_profiles", "list_prompts", "list_strategies", "strategies_for",
                        "strategy_choices", "strategy_values"},
    "core.ai.providers": {"list_providers"},
    "core.ai.runs": {"ai_scope"},
    "core.ai.settings": {"get_effective"},
    "core.billing.credits": {"available", "balance", "ensure_balance", "grant_targets", "held", "list_ledger"},
    "core.billing.usage_display": {"display_zone"},
    "core.billing.usage": {"balance_over_time", "by_model", "by_site", "by_user", "credits_per_day_by_operation",
                           "export_usage_csv", "list_usage", "most_expensive_tasks", "prepare", "report", "summary"},
    "core.identity.accounts": {"list_accounts", "list_plans"},
    "core.identity.sites": {"list_sectors", "list_sites"},
    "core.identity.users": {"get_user", "list_site_access", "list_users"},
    "core.planner.clustering.apply": {"load"},
    "core.planner.clusters": {"cluster_keywords", "in_sector", "list_clusters", "named", "names"},
    "core.planner.ideas": {"get", "list_ideas"},
    "core.planner.keyword_export": {"export_keywords"},
    "core.planner.keywords": {"cluster_choices", "count_by_status", "count_filtered", "list_keywords"},
    "core.planner.library": {"default_library", "list_seeds", "sector_library"},
    "core.planner.overview": {"pipeline_counts"},
    "core.publishing.connection": {"integration", "wordpress_login"},
    "core.publishing.events": {"list_events"},
    "core.publishing.service": {"state"},
    "core.publishing.settings": {"get"},
    "core.publishing.slots": {"calendar", "next_free", "plan"},
    "core.publishing.taxonomy": {"authors", "list_terms", "terms_of"},
    "core.tenancy": {"get"},
    "core.writer.content": {"counts", "get_article", "list_content"},
    "core.writer.images": {"article_html", "image_file", "list_images", "preview_html"},
    "core.writer.overlap": {"check_task", "check_tasks"},  # a viewer's check stores nothing
    "core.writer.review": {"counts_for_review", "history"},
    "core.writer.revisions": {"diff", "get_revision", "list_revisions"},
    "core.writer.tasks": {"assignees", "counts", "get", "list_tasks", "queued_ids"},
}
PLATFORM_WRITES = [
    "core.ai.engine.check_provider", "core.ai.models.create_model", "core.ai.models.set_default",
    "core.ai.models.update_model", "core.ai.providers.update_provider", "core.ai.settings.update_system_defaults",
    "core.billing.credits.grant", "core.billing.credits.grant_plan_period", "core.billing.pricing.update_cost",
    "core.common.vault.rotate", "core.identity.accounts.create_account", "core.identity.accounts.create_plan",
    "core.identity.accounts.update_plan", "core.planner.library.create_seed", "core.planner.library.import_seeds",
    "core.planner.library.set_active", "core.planner.library.update_seed"]
SOON = datetime.now(UTC) + timedelta(days=1)
CSV = b"Keyword,Volume\ncheap hosting,100\nfast hosting,50\n"


def _discovered() -> set[str]:
    """module.function of every public core function whose first two parameters are (session|uow, actor)."""
    found = set()
    for info in pkgutil.walk_packages(core.__path__, "core."):
        if info.name.startswith(("core.cli", "core.demo")):
            continue
        mod = importlib.import_module(info.name)
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            params = list(inspect.signature(fn).parameters)
            if not name.startswith("_") and fn.__module__ == mod.__name__ and params[:2] in (
                    ["session", "actor"], ["uow", "actor"]):
                found.add(f"{mod.__name__}.{name}")
    return found


@pytest.fixture
def w(session):
    """An account with an owner, a viewer granted its one site, and one row of each kind to aim writes at."""
    acct = f.account(session)
    owner = f.owner_actor(session, acct)
    site = sites.create_site(session, owner, name="One")
    sector = sites.create_sector(session, owner, site_id=site.id, name="Hosting")
    viewer_user = f.user(session, acct, role=Role.viewer)
    users.set_site_access(session, owner, user_id=viewer_user.id, site_ids=[site.id])
    other = f.user(session, acct, role=Role.editor)
    cluster = clusters.create(session, owner, site_id=site.id, sector_id=sector.id, name="Cheap hosting")
    cluster2 = clusters.create(session, owner, site_id=site.id, sector_id=sector.id, name="Fast hosting")
    kw = keyword_edits.create_keyword(session, owner, site_id=site.id, sector_id=sector.id, keyword="cheap hosting",
                                      cluster_id=cluster.id)
    for text in ("managed wordpress hosting", "managed vps hosting"):  # new keywords for a clustering preview
        keyword_edits.create_keyword(session, owner, site_id=site.id, sector_id=sector.id, keyword=text)
    idea = ideas.create(session, owner, cluster_id=cluster.id, title="Cheap hosting compared")
    ctx = f.world(session, acct, site)
    ctx["sector"] = sector
    task, content = f.tenant_row(session, Tasks, ctx), f.tenant_row(session, Content, ctx)
    batch = f.tenant_row(session, WriterBatch, ctx)
    run = f.tenant_row(session, AutomationRun, ctx)
    image = images.upload(session, owner, content_id=content.id, data=_png(), filename="owner.png")
    industry = Industry(name="Web hosting", slug="web-hosting")
    session.add(industry)
    session.flush()
    isec = IndustrySector(industry_id=industry.id, name="Shared hosting", slug="shared-hosting")
    session.add(isec)
    session.flush()
    seed = library.create_seed(session, f.platform_admin(session), industry_sector_id=isec.id, keyword="vps hosting")
    platform_viewer = f.actor(session, f.user(session, f.account(session, is_system=True), role=Role.viewer))
    return SimpleNamespace(s=session, acct=acct, owner=owner, site=site, sector=sector, other=other, kw=kw,
                           cluster=cluster, cluster2=cluster2, idea=idea, task=task, content=content, batch=batch, run=run, image=image, platform_viewer=platform_viewer, isec=isec, seed=seed,
                           viewer=f.actor(session, viewer_user))


def _writes(w, a) -> dict[str, object]:  # noqa: PLR0915 - one call per write function of core
    s, site, sec = w.s, w.site.id, w.sector.id
    uow = lambda: nullcontext(s)  # noqa: E731 - the test's session as the unit of work (rolled back)
    model = s.query(AIModelConfig).filter_by(model_name="gpt-4o-mini").one()
    isec, seed = w.isec, w.seed
    usage = Usage(operation_type="clustering", model_used="gpt-4o-mini", cost_usd=Decimal("0.01"), site_id=site)
    row = ParsedRow("new keyword", "new keyword", 10, None, None, None, {})
    c, t = w.content, w.task
    run = w.run.id
    return {
        "core.automation.config.update": lambda: automation_config.update(s, a, site_id=site,
                                                                          changes={"credit_budget": 100}),
        "core.automation.runs.cancel": lambda: automation_runs.cancel(s, a, run_id=run),
        "core.automation.runs.forecast": lambda: automation_runs.forecast(s, a, site_id=site),
        "core.automation.runs.pause": lambda: automation_runs.pause(s, a, run_id=run),
        "core.automation.runs.resume": lambda: automation_runs.resume(s, a, run_id=run),
        "core.automation.runs.retry_failed": lambda: automation_runs.retry_failed(s, a, run_id=run),
        "core.automation.runs.start": lambda: automation_runs.start(s, a, site_id=site),
        "core.billing.credits.extend": lambda: credits.extend(s, a, reservation_id=1, amount=1),
        "core.billing.credits.release": lambda: credits.release(s, a, reservation_id=1),
        "core.billing.credits.reserve": lambda: credits.reserve(s, a, amount=1, purpose="mine"),
        "core.writer.review.approve_automatically": lambda: review.approve_automatically(s, a, content=c),
        "core.ai.bulk.cancel_batch": lambda: bulk.cancel_batch(s, a, batch_id=w.batch.id),
        "core.ai.bulk.create_batch": lambda: bulk.create_batch(s, a, sector_id=sec, task_ids=[t.id]),
        "core.ai.bulk.estimate_batch": lambda: bulk.estimate_batch(s, a, task_ids=[t.id]),
        "core.ai.bulk.retry_failed": lambda: bulk.retry_failed(s, a, batch_id=w.batch.id),
        "core.ai.bulk.run_batch": lambda: bulk.run_batch(uow, a, batch_id=w.batch.id),
        "core.writer.content.save": lambda: articles.save(
            s, a, content_id=c.id, base_version=c.version, title="Mine", content_html="<p>Mine now</p>",
            meta_title="", meta_description="", primary_keyword="", secondary_keywords=[]),
        "core.writer.images.delete_image": lambda: images.delete_image(s, a, image_id=w.image.id),
        "core.writer.images.request_regenerate": lambda: images.request_regenerate(s, a, image_ids=[w.image.id]),
        "core.writer.images.update_image": lambda: images.update_image(s, a, image_id=w.image.id, alt_text="x"),
        "core.writer.images.upload": lambda: images.upload(s, a, content_id=c.id, data=_png(), filename="a.png"),
        "core.writer.review.add_comment": lambda: review.add_comment(s, a, content_id=c.id, comment="Mine"),
        "core.writer.review.after_generation": lambda: review.after_generation(s, a, content=c),
        "core.writer.review.bulk_approve": lambda: review.bulk_approve(s, a, content_ids=[c.id]),
        "core.writer.review.settings_row": lambda: review.settings_row(s, a, site_id=site),
        "core.writer.review.set_auto_approval": lambda: review.set_auto_approval(s, a, site_id=site, enabled=True),
        "core.writer.review.transition": lambda: review.transition(s, a, content_id=c.id, to="review"),
        "core.writer.revisions.add": lambda: revisions.add(s, a, content=c, kind=RevisionKind.edit),
        "core.writer.revisions.record_generated": lambda: revisions.record_generated(s, a, content=c),
        "core.writer.revisions.restore": lambda: revisions.restore(s, a, content_id=c.id, number=1,
                                                                   base_version=c.version),
        "core.writer.revisions.store": lambda: revisions.store(s, a, content=c, base_version=c.version,
                                                               values={"title": "Mine"}, kind=RevisionKind.edit,
                                                               note=""),
        "core.writer.tasks.assign": lambda: tasks.assign(s, a, task_ids=[t.id], user_id=w.other.id),
        "core.writer.tasks.create": lambda: tasks.create(s, a, site_id=site, sector_id=sec, title="Mine",
                                                         cluster_id=w.cluster.id),
        "core.writer.tasks.delete": lambda: tasks.delete(s, a, task_ids=[t.id]),
        "core.writer.tasks.restore": lambda: tasks.restore(s, a, task_ids=[t.id]),
        "core.writer.tasks.set_due_date": lambda: tasks.set_due_date(s, a, task_ids=[t.id], due_date=None),
        "core.writer.tasks.update": lambda: tasks.update(s, a, task_id=t.id, title="Mine"),
        "core.ai.engine.auto_cluster": lambda: engine.auto_cluster(uow, a, sector_id=sec, keyword_ids=[w.kw.id]),
        "core.ai.engine.check_provider": lambda: engine.check_provider(uow, a, provider_id="openai"),
        "core.ai.engine.estimate": lambda: engine.estimate(s, a, function="generate_ideas",
                                                           cluster_id=w.cluster.id),
        "core.ai.engine.generate_content": lambda: engine.generate_content(uow, a, task_id=w.task.id),
        "core.ai.engine.generate_ideas": lambda: engine.generate_ideas(uow, a, cluster_id=w.cluster.id),
        "core.ai.engine.generate_image_prompts": lambda: engine.generate_image_prompts(uow, a,
                                                                                       content_id=w.content.id),
        "core.ai.engine.generate_images": lambda: engine.generate_images(uow, a, content_id=w.content.id),
        "core.ai.engine.run": lambda: engine.run(uow, a, function="generate_ideas", cluster_id=w.cluster.id),
        "core.ai.models.create_model": lambda: models.create_model(s, a, model_name="gpt-9", model_type="text",
                                                                   provider="openai", display_name="GPT 9"),
        "core.ai.models.set_default": lambda: models.set_default(s, a, model_id=model.id),
        "core.ai.models.update_model": lambda: models.update_model(s, a, model_id=model.id, is_active=False),
        "core.ai.prompts.create_author_profile": lambda: prompts.create_author_profile(s, a, name="Voice",
                                                                                       tone="casual"),
        "core.ai.prompts.create_strategy": lambda: prompts.create_strategy(s, a, name="Angle"),
        "core.ai.prompts.reset_to_default": lambda: prompts.reset_to_default(s, a, prompt_type="ideas"),
        "core.ai.prompts.save_override": lambda: prompts.save_override(s, a, prompt_type="ideas", text="Ideas."),
        "core.ai.providers.update_provider": lambda: providers.update_provider(s, a, provider_id="openai",
                                                                               api_key="sk-stolen"),
        "core.ai.runs.ai_cluster": lambda: runs.ai_cluster(uow, a, site_id=site, sector_id=sec),
        "core.ai.runs.estimate_ai_cluster": lambda: runs.estimate_ai_cluster(s, a, site_id=site, sector_id=sec),
        "core.ai.runs.estimate_ideas": lambda: runs.estimate_ideas(s, a, cluster_ids=[w.cluster.id]),
        "core.ai.runs.generate_ideas": lambda: runs.generate_ideas(uow, a, cluster_ids=[w.cluster.id]),
        "core.ai.settings.reset": lambda: ai_settings.reset(s, a),
        "core.ai.settings.save": lambda: ai_settings.save(s, a, temperature=0.5),
        "core.ai.settings.update_system_defaults": lambda: ai_settings.update_system_defaults(s, a,
                                                                                              temperature=0.5),
        "core.billing.credits.charge": lambda: credits.charge(s, a, credits=1, idempotency_key="k",
                                                              description="x", usage=usage),
        "core.billing.credits.grant": lambda: credits.grant(s, a, amount=100, kind="purchase", reason="free"),
        "core.billing.credits.grant_plan_period": lambda: credits.grant_plan_period(s, a),
        "core.billing.credits.record_unbilled": lambda: credits.record_unbilled(s, a, usage=usage),
        "core.billing.pricing.update_cost": lambda: pricing.update_cost(s, a, operation_type="clustering",
                                                                        base_credits=0),
        "core.common.vault.rotate": lambda: vault.rotate(s, a),
        "core.identity.accounts.create_account": lambda: accounts.create_account(s, a, name="Shadow"),
        "core.identity.accounts.create_plan": lambda: accounts.create_plan(s, a, name="Secret plan"),
        "core.identity.accounts.update_account": lambda: accounts.update_account(s, a, account_id=w.acct.id,
                                                                                 name="Mine now"),
        "core.identity.accounts.update_plan": lambda: accounts.update_plan(s, a, plan_id=w.acct.plan_id,
                                                                           price_monthly=Decimal("0")),
        "core.identity.sites.create_sector": lambda: sites.create_sector(s, a, site_id=site, name="Another"),
        "core.identity.sites.create_site": lambda: sites.create_site(s, a, name="New"),
        "core.identity.sites.update_sector": lambda: sites.update_sector(s, a, site_id=site, sector_id=sec,
                                                                         name="Renamed"),
        "core.identity.sites.update_site": lambda: sites.update_site(s, a, site_id=site, name="Renamed"),
        "core.identity.users.create_user": lambda: users.create_user(s, a, email="new@example.com",
                                                                     password="another-pass-77", role="viewer"),
        "core.identity.users.reset_password": lambda: users.reset_password(s, a, user_id=w.other.id,
                                                                           new_password="another-pass-77"),
        "core.identity.users.revoke_site_access": lambda: users.revoke_site_access(s, a, user_id=w.other.id,
                                                                                   site_id=site),
        "core.identity.users.set_site_access": lambda: users.set_site_access(s, a, user_id=w.other.id,
                                                                             site_ids=[site]),
        "core.identity.users.update_user": lambda: users.update_user(s, a, user_id=w.other.id, first_name="X"),
        "core.planner.clustering.apply.apply": lambda: apply.apply(s, a, preview=_preview(w)),
        "core.planner.clustering.apply.preview": lambda: apply.preview(uow, a, site_id=site, sector_id=sec),
        "core.planner.clusters.assign_keywords": lambda: clusters.assign_keywords(s, a, keyword_ids=[w.kw.id],
                                                                                  cluster_id=w.cluster.id),
        "core.planner.clusters.create": lambda: clusters.create(s, a, site_id=site, sector_id=sec, name="Mine"),
        "core.planner.clusters.delete": lambda: clusters.delete(s, a, cluster_ids=[w.cluster.id]),
        "core.planner.clusters.get_for_write": lambda: clusters.get_for_write(s, a, cluster_id=w.cluster.id),
        "core.planner.clusters.merge": lambda: clusters.merge(s, a, source_ids=[w.cluster2.id],
                                                              target_id=w.cluster.id),
        "core.planner.clusters.rename": lambda: clusters.rename(s, a, cluster_id=w.cluster.id, name="Renamed"),
        "core.planner.clusters.restore": lambda: clusters.restore(s, a, cluster_ids=[w.cluster.id]),
        "core.planner.clusters.split": lambda: clusters.split(s, a, cluster_id=w.cluster.id, keyword_ids=[w.kw.id],
                                                              name="Split off"),
        "core.planner.ideas.create": lambda: ideas.create(s, a, cluster_id=w.cluster.id, title="Idea"),
        "core.planner.ideas.delete": lambda: ideas.delete(s, a, idea_ids=[w.idea.id]),
        "core.planner.ideas.queue": lambda: ideas.queue(s, a, idea_ids=[w.idea.id]),
        "core.planner.ideas.update": lambda: ideas.update(s, a, idea_id=w.idea.id, title="Changed"),
        "core.planner.keyword_edits.bulk_update": lambda: keyword_edits.bulk_update(
            s, a, site_id=site, sector_id=sec, action="disable", ids=[w.kw.id]),
        "core.planner.keyword_edits.run_bulk": lambda: keyword_edits.run_bulk(
            uow, a, site_id=site, sector_id=sec, action="disable", filters=KeywordFilter()),
        "core.planner.keyword_edits.create_keyword": lambda: keyword_edits.create_keyword(
            s, a, site_id=site, sector_id=sec, keyword="mine"),
        "core.planner.keyword_edits.update_keywords": lambda: keyword_edits.update_keywords(
            s, a, changes={w.kw.id: {"volume": 5}}),
        "core.planner.keyword_import.service.import_file": lambda: keyword_import.import_file(
            uow, a, site_id=site, sector_id=sec, data=CSV),
        "core.planner.keyword_import.service.run_import": lambda: keyword_import.run_import(
            s, a, site_id=site, sector_id=sec, data=CSV),
        "core.planner.keyword_import.service.write_rows": lambda: keyword_import.write_rows(
            s, a, site_id=site, sector_id=sec, rows=[row]),
        "core.planner.library.add_to_sector": lambda: library.add_to_sector(s, a, site_id=site, sector_id=sec,
                                                                            seed_ids=[seed.id]),
        "core.planner.library.create_seed": lambda: library.create_seed(s, a, industry_sector_id=isec.id,
                                                                        keyword="planted"),
        "core.planner.library.import_seeds": lambda: library.import_seeds(s, a, industry_sector_id=isec.id,
                                                                          data=CSV),
        "core.planner.library.set_active": lambda: library.set_active(s, a, seed_ids=[seed.id], active=False),
        "core.planner.library.update_seed": lambda: library.update_seed(s, a, seed_id=seed.id, volume=1),
        "core.publishing.connection.set_wordpress": lambda: connection.set_wordpress(
            s, a, site_id=site, url="https://evil.example", username="me", app_password="abcd efgh ijkl mnop"),
        "core.publishing.connection.check": lambda: connection.check(uow, a, site_id=site),
        "core.publishing.connection.login": lambda: connection.login(s, a, site_id=site),
        "core.publishing.connection.record_check": lambda: connection.record_check(
            s, a, site_id=site, report=doctor.Report()),
        "core.publishing.service.publish": lambda: publishing.publish(uow, a, content_id=c.id),
        "core.publishing.service.schedule": lambda: publishing.schedule(s, a, content_id=c.id, at=SOON),
        "core.publishing.service.unpublish": lambda: publishing.unpublish(uow, a, content_id=c.id),
        "core.publishing.service.unschedule": lambda: publishing.unschedule(s, a, content_id=c.id),
        "core.publishing.settings.update": lambda: publishing_settings.update(
            s, a, site_id=site, auto_approval=True, auto_publish=True, daily_limit=1, weekly_limit=2,
            monthly_limit=3, days=["mon"], time_slots=["09:00"]),
        "core.publishing.slots.place": lambda: slots.place(s, a, site_id=site),
        "core.publishing.taxonomy.create_term": lambda: taxonomy.create_term(s, a, site_id=site, name="News"),
        "core.publishing.taxonomy.set_author": lambda: taxonomy.set_author(s, a, content_id=c.id, author_id=None),
        "core.publishing.taxonomy.set_terms": lambda: taxonomy.set_terms(s, a, content_id=c.id, taxonomy_ids=[]),
        "core.publishing.taxonomy.sync": lambda: taxonomy.sync(uow, a, site_id=site),
        "core.tenancy.get_for_write": lambda: core.tenancy.get_for_write(s, a, type(w.cluster), w.cluster.id),
        "core.tenancy.sector_for_write": lambda: core.tenancy.sector_for_write(s, a, site_id=site, sector_id=sec),
        "core.tenancy.site_for_write": lambda: core.tenancy.site_for_write(s, a, site_id=site),
    }


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return buf.getvalue()


def _preview(w):
    return apply.preview(lambda: nullcontext(w.s), w.owner, site_id=w.site.id, sector_id=w.sector.id)


def test_every_core_function_is_classified_as_a_read_or_a_write(w):
    reads = {f"{mod}.{name}" for mod, names in READS.items() for name in names}
    writes = set(_writes(w, w.viewer))
    assert not reads & writes
    assert _discovered() == reads | writes, "classify the new core function here: a read, or a write with a call"


def test_a_viewer_is_refused_every_write_and_nothing_is_written(w):
    for name, call in _writes(w, w.viewer).items():
        err = f.refused(w.s, AccessDenied, call)
        assert len(str(err)) > 20, f"{name}: the refusal says why ({err})"


def test_a_viewer_of_the_platform_account_is_refused_the_global_writes(w):
    """Global rows (models, providers, prices, defaults, the library, accounts, plans) change only by platform
    admins: a platform account's viewer is refused as well."""
    writes = _writes(w, w.platform_viewer)
    for name in PLATFORM_WRITES:
        f.refused(w.s, AccessDenied, writes[name])


def test_the_calls_are_real_writes_for_an_owner(w):
    """The walk's calls are not refused for some other reason: an owner's version of a sample goes through."""
    s = w.s
    assert prompts.create_author_profile(s, w.owner, name="Voice", tone="casual").id
    assert keyword_edits.update_keywords(s, w.owner, changes={w.kw.id: {"volume": 5}}) == 1
    got = keyword_import.run_import(s, w.owner, site_id=w.site.id, sector_id=w.sector.id, data=CSV)
    assert (got.imported, got.updated) == (1, 1)  # "cheap hosting" was there
    assert len(ideas.queue(s, w.owner, idea_ids=[w.idea.id]).task_ids) == 1
