"""Business rules of sites, sectors and the planner; every refused call leaves the database unchanged. And one rule of
the UI code: text put into Streamlit's Markdown goes through ui.md."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select

from core import tenancy
from core.errors import AccessDenied, Conflict, LimitExceeded, ValidationFailed
from core.identity import accounts, sites
from core.planner import clusters, keyword_edits
from db.enums import KeywordStatus, Role
from db.models import Account, Industry, IndustrySector, Keywords, Plan, Sector, Site
from tests import factories as f


@pytest.fixture
def owned(session):
    """An account, its owner actor and one site with one sector."""
    acct = f.account(session)
    owner = f.owner_actor(session, acct)
    site = sites.create_site(session, owner, name="Blog")
    sector = sites.create_sector(session, owner, site_id=site.id, name="Hosting")
    return acct, owner, site, sector


def _industry(session, name: str) -> Industry:
    return session.scalars(select(Industry).where(Industry.name == name)).one()


def _industry_sector(session, industry: Industry, name: str) -> IndustrySector:
    return session.scalars(select(IndustrySector).where(IndustrySector.industry_id == industry.id,
                                                        IndustrySector.name == name)).one()


def test_sector_must_belong_to_the_site(session, owned):
    _, owner, site, sector = owned
    other_site = sites.create_site(session, owner, name="Shop")
    err = f.refused(session, ValidationFailed, lambda: tenancy.sector_for_write(
        session, owner, site_id=other_site.id, sector_id=sector.id))
    assert "does not belong to site" in str(err) and "Hosting" in str(err) and "Shop" in str(err)
    f.refused(session, ValidationFailed, lambda: keyword_edits.create_keyword(
        session, owner, site_id=other_site.id, sector_id=sector.id, keyword="misplaced"))
    f.refused(session, ValidationFailed, lambda: sites.update_sector(
        session, owner, site_id=other_site.id, sector_id=sector.id, name="Moved"))
    assert tenancy.sector_for_write(session, owner, site_id=site.id, sector_id=sector.id) is sector


def test_at_most_five_active_sectors(session, owned):
    _, owner, site, first = owned
    for i in range(4):
        sites.create_sector(session, owner, site_id=site.id, name=f"Sector {i}")
    err = f.refused(session, LimitExceeded, lambda: sites.create_sector(session, owner, site_id=site.id,
                                                                        name="Sixth"))
    assert "5 active sectors" in str(err) and "Deactivate one first" in str(err)
    sites.update_sector(session, owner, site_id=site.id, sector_id=first.id, is_active=False)
    sixth = sites.create_sector(session, owner, site_id=site.id, name="Sixth")
    assert sixth.is_active
    f.refused(session, LimitExceeded, lambda: sites.update_sector(session, owner, site_id=site.id,
                                                                  sector_id=first.id, is_active=True))
    assert session.get(Sector, first.id).is_active is False
    assert len(sites.list_sectors(session, owner, site_id=site.id, active_only=True)) == 5
    assert len(sites.list_sectors(session, owner, site_id=site.id)) == 6


def test_keyword_and_cluster_share_a_sector(session, owned):
    _, owner, site, sector = owned
    other = sites.create_sector(session, owner, site_id=site.id, name="Themes")
    cluster = clusters.create(session, owner, site_id=site.id, sector_id=sector.id, name="Cheap hosting")
    err = f.refused(session, ValidationFailed, lambda: keyword_edits.create_keyword(
        session, owner, site_id=site.id, sector_id=other.id, keyword="dark theme", cluster_id=cluster.id))
    assert "same sector" in str(err)
    kw = keyword_edits.create_keyword(session, owner, site_id=site.id, sector_id=other.id, keyword="dark theme")
    err = f.refused(session, ValidationFailed, lambda: clusters.assign_keywords(
        session, owner, keyword_ids=[kw.id], cluster_id=cluster.id))
    assert "same sector" in str(err)
    session.refresh(kw)
    assert kw.cluster_id is None and kw.status == KeywordStatus.new
    ok = keyword_edits.create_keyword(session, owner, site_id=site.id, sector_id=sector.id, keyword="cheap host",
                                volume=50, cluster_id=cluster.id)
    session.refresh(cluster)
    assert ok.cluster_id == cluster.id and cluster.keywords_count == 1 and cluster.volume == 50


def test_duplicate_keyword_after_normalisation(session, owned):
    _, owner, site, sector = owned
    kw = keyword_edits.create_keyword(session, owner, site_id=site.id, sector_id=sector.id, keyword=" WordPress  Hosting ")
    assert (kw.keyword, kw.keyword_norm) == ("WordPress Hosting", "wordpress hosting")
    for variant in ("wordpress hosting", "WORDPRESS\tHOSTING", "ｗｏｒｄｐｒｅｓｓ hosting"):
        err = f.refused(session, Conflict, lambda v=variant: keyword_edits.create_keyword(
            session, owner, site_id=site.id, sector_id=sector.id, keyword=v))
        assert "is in sector “Hosting” already" in str(err)
    other = sites.create_sector(session, owner, site_id=site.id, name="Other")
    assert keyword_edits.create_keyword(session, owner, site_id=site.id, sector_id=other.id,
                                  keyword="wordpress hosting").sector_id == other.id
    f.refused(session, ValidationFailed, lambda: keyword_edits.create_keyword(
        session, owner, site_id=site.id, sector_id=sector.id, keyword="   "), match="cannot be empty")


def test_keyword_metrics_are_validated(session, owned):
    _, owner, site, sector = owned
    for kwargs, fragment in (({"volume": -1}, "Volume"), ({"difficulty": 101}, "Difficulty"),
                             ({"cpc": "abc"}, "CPC"), ({"volume": "many"}, "whole number")):
        err = f.refused(session, ValidationFailed, lambda k=kwargs: keyword_edits.create_keyword(
            session, owner, site_id=site.id, sector_id=sector.id, keyword="metric test", **k))
        assert fragment in str(err)


def test_industry_sector_must_match_the_site_industry(session, owned):
    _, owner, site, _ = owned
    tech, finance = _industry(session, "Technology"), _industry(session, "Finance")
    wp, investing = _industry_sector(session, tech, "WordPress"), _industry_sector(session, finance, "Investing")
    err = f.refused(session, ValidationFailed, lambda: sites.create_sector(
        session, owner, site_id=site.id, name="WP", industry_sector_id=wp.id))
    assert "Set the industry" in str(err)
    sites.update_site(session, owner, site_id=site.id, industry_id=tech.id)
    err = f.refused(session, ValidationFailed, lambda: sites.create_sector(
        session, owner, site_id=site.id, name="Money", industry_sector_id=investing.id))
    assert "not part of the site's industry" in str(err)
    bound = sites.create_sector(session, owner, site_id=site.id, name="WP", industry_sector_id=wp.id)
    assert bound.industry_sector_id == wp.id
    err = f.refused(session, ValidationFailed, lambda: sites.update_site(session, owner, site_id=site.id,
                                                                         industry_id=finance.id))
    assert "tied to another industry" in str(err)
    assert session.get(Site, site.id).industry_id == tech.id


def test_site_slug_unique_per_account(session):
    a1, a2 = f.account(session), f.account(session)
    o1, o2 = f.owner_actor(session, a1), f.owner_actor(session, a2)
    blog1 = sites.create_site(session, o1, name="Blog")
    blog2 = sites.create_site(session, o2, name="Blog", slug="blog")
    assert blog1.slug == blog2.slug == "blog"
    err = f.refused(session, Conflict, lambda: sites.create_site(session, o1, name="Another blog", slug="Blog"))
    assert "slug “blog”" in str(err)


def test_sector_slug_unique_per_site(session, owned):
    _, owner, site, _ = owned
    f.refused(session, Conflict, lambda: sites.create_sector(session, owner, site_id=site.id, name="hosting"))
    other = sites.create_site(session, owner, name="Shop")
    assert sites.create_sector(session, owner, site_id=other.id, name="Hosting").slug == "hosting"


def test_timezone_is_validated(session, owned):
    _, owner, site, _ = owned
    for bad in ("Mars/Olympus", "Europe/Berlinn", "../etc/passwd"):
        err = f.refused(session, ValidationFailed, lambda b=bad: sites.create_site(session, owner, name="T",
                                                                                    timezone=b))
        assert "not a known time zone" in str(err)
        f.refused(session, ValidationFailed, lambda b=bad: sites.update_site(session, owner, site_id=site.id,
                                                                             timezone=b))
    assert session.get(Site, site.id).timezone == "UTC"
    assert sites.update_site(session, owner, site_id=site.id, timezone=" Europe/Berlin ").timezone == "Europe/Berlin"


def test_names_and_domains_are_validated(session, owned):
    _, owner, site, _ = owned
    f.refused(session, ValidationFailed, lambda: sites.create_site(session, owner, name="   "), match="required")
    f.refused(session, ValidationFailed, lambda: sites.create_site(session, owner, name="x" * 300),
              match="too long")
    f.refused(session, ValidationFailed, lambda: sites.create_site(session, owner, name="D", domain="a b.com"),
              match="domain")
    f.refused(session, ValidationFailed, lambda: clusters.create(
        session, owner, site_id=site.id, sector_id=owned[3].id, name=""), match="Cluster name is required")


def test_plan_change_refused_when_the_account_has_too_many_sites(session, owned):
    acct, owner, _, _ = owned
    sites.create_site(session, owner, name="Second")
    dev = f.actor(session, f.user(session, None, role=Role.developer)).in_account(acct.id)
    free = accounts.get_plan_by_slug(session, "free")
    before = acct.plan_id
    err = f.refused(session, LimitExceeded, lambda: accounts.update_account(session, dev, account_id=acct.id,
                                                                            plan_id=free.id))
    assert "2 active sites" in str(err) and "Free" in str(err) and "Deactivate some first" in str(err)
    assert session.get(Account, acct.id).plan_id == before
    starter = accounts.get_plan_by_slug(session, "starter")
    assert accounts.update_account(session, dev, account_id=acct.id, plan_id=starter.id).plan_id == starter.id


def test_only_developers_change_plans(session, owned):
    acct, owner, _, _ = owned
    free = session.scalars(select(Plan).where(Plan.slug == "free")).one()
    f.refused(session, AccessDenied, lambda: accounts.update_account(session, owner, account_id=acct.id,
                                                                  plan_id=free.id), match="Only a developer")
    assert accounts.update_account(session, owner, account_id=acct.id, name=" Renamed  agency ").name == \
        "Renamed agency"


def test_refused_helper_detects_a_write_before_the_error(session, owned):
    """The 'unchanged' check itself works: a call that inserts and then raises is reported."""
    _, owner, site, sector = owned

    def sloppy() -> None:
        keyword_edits.create_keyword(session, owner, site_id=site.id, sector_id=sector.id, keyword="written first")
        raise ValidationFailed("too late")

    with pytest.raises(AssertionError, match="keywords"):
        f.refused(session, ValidationFailed, sloppy)
    assert session.scalar(select(Keywords.id).where(Keywords.keyword == "written first")) is None


# ---------------------------------------------------------------- the UI puts no raw text into Markdown
# Streamlit renders Markdown in these calls' text (the first argument, metric's first two, and label/body/help/
# text/value): alerts, captions, titles, labels and help of every widget, tab and expander titles, buttons.
MARKDOWN_CALLS = {"markdown", "caption", "success", "error", "info", "warning", "toast", "title", "header",
                  "subheader", "expander", "popover", "status", "spinner", "button", "form_submit_button",
                  "download_button", "link_button", "page_link", "checkbox", "toggle", "radio", "selectbox",
                  "multiselect", "text_input", "text_area", "number_input", "slider", "select_slider",
                  "file_uploader", "date_input", "time_input", "segmented_control", "pills", "metric", "progress",
                  "tabs"}
TEXT_KEYWORDS = {"label", "body", "help", "text"}
NOT_STREAMLIT = {"log", "logger", "logging"}
UI_ROOT = Path(__file__).resolve().parent.parent
UI_FILES = ["app.py", "ui.py", "ui_jobs.py", "ui_session.py", "ui_runs.py", "pages/*.py"]
EXEMPT_FUNCTIONS = {"_login_form"}  # shows auth's fixed messages (no names); its own change is under way


def _constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id.isupper() or isinstance(node, ast.Attribute) and node.attr.isupper()


def _plain(node: ast.expr) -> bool:
    """Text that cannot carry a user's or the AI's Markdown: literals, our CONSTANTS (and their items), enum
    `.value`s, numbers (a format spec, len, sum), ui.md(...), and expressions made of these. A bare local name
    passes: it is a parameter (ui's helpers escape theirs) or a constant picked in a loop; other calls,
    attributes and subscripts do not."""
    if isinstance(node, ast.Constant | ast.Compare | ast.Name):
        return True
    if isinstance(node, ast.BoolOp):
        return all(_plain(v) for v in node.values)
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(v, ast.Constant) or v.format_spec is not None or _plain(v.value) for v in node.values)
    if isinstance(node, ast.Call):
        func = node.func
        return (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")) in {"md", "len", "sum"}
    if isinstance(node, ast.BinOp):
        return _plain(node.left) and _plain(node.right)
    if isinstance(node, ast.IfExp):
        return _plain(node.body) and _plain(node.orelse)
    if isinstance(node, ast.List | ast.Tuple):
        return all(_plain(e) for e in node.elts)
    if isinstance(node, ast.Attribute):
        return node.attr == "value" or _constant(node)
    if isinstance(node, ast.Subscript):
        return _constant(node.value)
    return False


def _called(func: ast.expr) -> set[str]:
    if isinstance(func, ast.IfExp):  # (st.warning if … else st.success)(message)
        return _called(func.body) | _called(func.orelse)
    if isinstance(func, ast.Attribute) and not (isinstance(func.value, ast.Name) and func.value.id in NOT_STREAMLIT):
        return {func.attr} & MARKDOWN_CALLS
    return set()


def markdown_violations(source: str, name: str) -> list[str]:
    """`file:line: text` of each call that puts text other than _plain() into Streamlit's Markdown."""
    tree, skipped = ast.parse(source), set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef) and fn.name in EXEMPT_FUNCTIONS:
            skipped |= {id(n) for n in ast.walk(fn)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in skipped or not (called := _called(node.func)):
            continue
        shown = node.args[:2] if "metric" in called else node.args[1:2] if "progress" in called else node.args[:1]
        shown += [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS or (k.arg == "value" and "metric" in called)]
        found += [f"{name}:{node.lineno}: {ast.unparse(arg)}" for arg in shown if not _plain(arg)]
    return found


def test_ui_code_escapes_what_it_puts_into_markdown():
    files = sorted({p for pattern in UI_FILES for p in UI_ROOT.glob(pattern)})
    assert len(files) > 15
    found = [v for p in files for v in markdown_violations(p.read_text(), str(p.relative_to(UI_ROOT)))]
    assert not found, "wrap user/AI/database text in ui.md(...):\n" + "\n".join(found)


@pytest.mark.parametrize(("source", "caught"), [
    ("st.success(f'Merged into {name.strip()}')", True),
    ("st.caption(f'{scope.site_name} · {scope.sector_name}')", True),
    ("col.metric(stage.label, f'{stage.total:,}')", True),
    ("st.error(str(e))", True),
    ("(st.warning if bad else st.success)(res.message)", True),
    ("st.tabs([f'Edit {site.name}'])", True),
    ("st.button('Go', help=p.description)", True),
    ("st.progress(job.fraction, text=f'{job.label} — {job.message}')", True),
    ("st.caption(f'Page {pages[0]}')", True),
    ("st.sidebar.markdown(f'**{ctx.name}**')", True),
    ("st.success(f'Merged into {ui.md(name)}: {n:,} keyword(s)')", False),
    ("st.caption(credits.GRANT_REFUSED)", False),
    ("st.info(LABELS[kind] + ' ' + ui.md(x.name))", False),
    ("st.caption(f'A {user.role.value} sees every site.')", False),
    ("st.button('Merge', help=ro or ('Select clusters first.' if not picked else None))", False),
    ("st.progress(job.fraction, text=f'{ui.md(job.label)} ({elapsed:.0f} s)')", False),
    ("log.info(f'job {job.label} failed')", False),
    ("def _login_form(rt):\n    st.error(result.message)", False),
])
def test_the_markdown_rule_catches_raw_text(source, caught):
    assert bool(markdown_violations(source, "example.py")) is caught
