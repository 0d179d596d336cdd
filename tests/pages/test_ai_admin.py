"""AI providers & models page: keys saved encrypted and shown masked, test connection against a real loopback
server, models added, edited and made default."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import JSON, String, Text, cast, func, select
from streamlit.testing.v1 import AppTest

from core import tenancy
from core.ai import models as ai_models
from core.ai import providers
from core.common import vault
from core.identity import auth
from db.base import Base
from db.enums import Role
from db.models import IntegrationProvider
from tests.fakes.openai_server import FakeAI
from tests.pages.conftest import APP, PASSWORD, click, go, in_navigation, login, texts

PAGE = "pages/ai_admin.py"


@pytest.fixture(scope="module")
def fake():
    with FakeAI(api_key=f"sk-page-{uuid.uuid4().hex}") as server:
        yield server


@pytest.fixture
def page(app_db):
    return go(login(), PAGE)


def _provider_row(at, pid: str):
    table = at.container(key="providers_table").dataframe[0].value
    return table[table["Provider"] == pid].iloc[0]


def _save_provider(at, pid: str, **inputs: str):
    at.selectbox(key="provider_pick").set_value(pid).run()
    for name, value in inputs.items():
        at.text_input(key=f"provider_{name}_{pid}").input(value)
    return click(at, f"provider_save_{pid}")


def _rows_containing(s, needle: str) -> dict[str, int]:
    """Every text-like column of every table that holds `needle` (the plaintext must be nowhere)."""
    found = {}
    for table in Base.metadata.sorted_tables:
        for col in table.columns:
            if isinstance(col.type, (String, Text, JSON)):
                n = s.scalar(select(func.count()).select_from(table).where(cast(col, Text).contains(needle)))
                if n:
                    found[f"{table.name}.{col.name}"] = n
    return found


def test_key_is_shown_masked_and_never_stored_in_plaintext(app_db, page):
    key = f"sk-secret-{uuid.uuid4().hex}"
    at = _save_provider(page, "stripe", key=key, secret="whsec-second-0000", endpoint="https://api.stripe.test/")
    assert texts(at.success) == ["Provider “Stripe” saved."] and not at.error
    row = _provider_row(at, "stripe")
    assert row["API key"] == "••••••••" + key[-4:] and row["API secret"] == "••••••••0000"
    assert row["Endpoint"] == "https://api.stripe.test"
    assert at.text_input(key="provider_key_stripe").value == ""  # the password input is emptied after saving
    with app_db.tx() as s:
        stored = s.get(IntegrationProvider, "stripe").api_key
        assert stored.startswith(vault.V2) and key not in stored
        assert _rows_containing(s, key) == {}
        assert _rows_containing(s, key[-12:]) == {}
        assert vault.decrypt(stored) == key  # core can still decrypt it

    at = _save_provider(at, "stripe", endpoint="https://api.stripe.test/v2")  # empty key input: key kept
    with app_db.tx() as s:
        assert vault.decrypt(s.get(IntegrationProvider, "stripe").api_key) == key
    at.multiselect(key="provider_remove_stripe").set_value(["api_key"])
    click(at, "provider_save_stripe")
    assert _provider_row(at, "stripe")["API key"] == ""


def test_bad_endpoint_and_bad_config_are_messages(app_db, page):
    at = _save_provider(page, "resend", endpoint="ftp://mail.example")
    assert texts(at.error) == ["“ftp://mail.example” is not an http(s) URL such as https://api.openai.com/v1."]
    at.text_input(key="provider_endpoint_resend").input("https://api.resend.test")
    at.text_area(key="provider_config_resend").input("{not json")
    click(at, "provider_save_resend")
    assert texts(at.error)[0].startswith("The config is not valid JSON")
    with app_db.tx() as s:
        resend = next(p for p in providers.list_providers(s, app_db.actor(s)) if p.provider_id == "resend")
        assert resend.api_endpoint == ""  # nothing was saved


def test_test_connection_against_a_loopback_server(app_db, page, fake):
    fake.reset()
    at = _save_provider(page, "openai", key=fake.api_key, endpoint=fake.url)
    assert not at.error
    click(at, "provider_test_openai")
    assert texts(at.success) == [f"Connected to openai at {fake.url}: 2 model(s) available."]
    assert [r.path for r in fake.requests] == ["/v1/models"]
    at = _save_provider(at, "openai", key="sk-wrong-key-000000")
    click(at, "provider_test_openai")
    assert texts(at.error) == ["The AI provider openai refused the API key (HTTP 401). Ask the platform team (the "
                               "team running this dashboard) to check the key on the “AI providers & models” screen."]


def test_add_model_then_make_it_default_and_back(app_db, page):
    at = page
    at.text_input(key="model_name").input("llama3.1:8b")
    at.text_input(key="model_display").input("Llama 3.1 8B (Ollama)")
    at.selectbox(key="model_type").set_value("text")
    at.selectbox(key="model_provider").set_value("openai")
    click(at, "model_create_submit")
    assert texts(at.error) == ["Text model “llama3.1:8b” needs tokens per credit."]
    at.number_input(key="model_new_tpc").set_value(5000)
    at.text_input(key="model_new_cin").input("0")
    click(at, "model_create_submit")
    assert texts(at.success) == ["Model “llama3.1:8b” added."]
    with app_db.tx() as s:
        llama = ai_models.get_by_name(s, model_name="llama3.1:8b")
        assert (llama.tokens_per_credit, llama.is_default, str(llama.cost_per_1k_input)) == (5000, False, "0.000000")
        lid, before = llama.id, ai_models.default_model(s, model_type="text").id

    at.selectbox(key="model_pick").set_value(lid).run()
    click(at, f"model_default_{lid}")
    assert texts(at.success) == ["“llama3.1:8b” is now the default text model."]
    assert at.button(key=f"model_default_{lid}").disabled
    with app_db.tx() as s:
        assert ai_models.default_model(s, model_type="text").id == lid
        assert sum(m.is_default for m in ai_models.list_models(s, model_type="text")) == 1
    table = at.container(key="models_table").dataframe[0].value
    assert table[table["Default"] & (table["Type"] == "text")]["Model"].tolist() == ["llama3.1:8b"]

    at.checkbox(key=f"model_edit_{lid}_active").uncheck()  # the default cannot be switched off
    click(at, f"model_edit_{lid}_submit")
    assert texts(at.error) == ["“llama3.1:8b” is the default text model; make another default first."]
    at.selectbox(key="model_pick").set_value(before).run()
    click(at, f"model_default_{before}")
    with app_db.tx() as s:
        assert ai_models.default_model(s, model_type="text").id == before


def test_edit_model_credits_and_tier(app_db, page):
    with app_db.tx() as s:
        mid = ai_models.get_by_name(s, model_name="google:4@2").id
    at = page
    at.selectbox(key="model_pick").set_value(mid).run()
    at.number_input(key=f"model_edit_{mid}_cpi").set_value(12)
    at.text_input(key=f"model_edit_{mid}_cimg").input("abc")
    click(at, f"model_edit_{mid}_submit")
    assert texts(at.error) == ["cost_per_image must be a USD amount like 0.00015."]
    at.text_input(key=f"model_edit_{mid}_cimg").input("0.1")
    click(at, f"model_edit_{mid}_submit")
    assert texts(at.success) == ["Model “google:4@2” saved."]
    with app_db.tx() as s:
        m = ai_models.get_by_name(s, model_name="google:4@2")
        assert (m.credits_per_image, str(m.cost_per_image), str(m.quality_tier)) == (12, "0.100000", "premium")
        ai_models.update_model(s, tenancy.operator_actor(), model_id=mid, credits_per_image=15)


def test_capabilities_are_edited_as_json_and_checked(app_db, page):
    with app_db.tx() as s:
        mid = ai_models.get_by_name(s, model_name="gpt-4o").id
    at = page
    table = at.container(key="models_table").dataframe[0].value
    assert table[table["Model"] == "gpt-5.1"]["Capabilities"].tolist() == [
        '{"max_tokens_param": "max_completion_tokens", "temperature": false}']
    at.selectbox(key="model_pick").set_value(mid).run()
    assert at.text_area(key=f"model_edit_{mid}_caps").value == ""
    at.text_area(key=f"model_edit_{mid}_caps").input('{"temperature": "no"}')
    click(at, f"model_edit_{mid}_submit")
    assert texts(at.error) == ['Capability “temperature” must be true or false (got "no").']
    at.text_area(key=f"model_edit_{mid}_caps").input('{"temperature": false, "json_mode": false}')
    click(at, f"model_edit_{mid}_submit")
    assert texts(at.success) == ["Model “gpt-4o” saved."] and not at.error
    with app_db.tx() as s:
        assert ai_models.get_by_name(s, model_name="gpt-4o").capabilities == {"temperature": False, "json_mode": False}
    at.text_area(key=f"model_edit_{mid}_caps").input("")  # empty: every default
    click(at, f"model_edit_{mid}_submit")
    with app_db.tx() as s:
        assert ai_models.get_by_name(s, model_name="gpt-4o").capabilities == {}


def test_a_new_reasoning_model_gets_its_capabilities(app_db, page):
    at = page
    at.text_input(key="model_name").input("o4-mini")
    at.text_input(key="model_display").input("o4 mini")
    at.number_input(key="model_new_tpc").set_value(1000)
    click(at, "model_create_submit")
    assert texts(at.success) == ["Model “o4-mini” added."]
    with app_db.tx() as s:
        assert ai_models.get_by_name(s, model_name="o4-mini").capabilities == ai_models.REASONING


def test_only_admins_reach_the_page(app_db):
    app_db.add_user("ed@example.com", Role.editor)
    editor = login("ed@example.com", PASSWORD)
    assert not in_navigation(editor, PAGE)
    assert in_navigation(login(), PAGE)


def test_a_customer_accounts_admin_sees_providers_and_models_read_only(app_db):
    app_db.add_customer_user("Customer Co", "cust-admin@example.com", Role.admin)
    at = login("cust-admin@example.com", PASSWORD)
    assert in_navigation(at, PAGE)
    assert texts(at.info) == [f"Read only. {tenancy.PLATFORM_ONLY}"]
    assert "openai" in at.container(key="providers_table").dataframe[0].value["Provider"].tolist()
    assert "gpt-4o-mini" in at.container(key="models_table").dataframe[0].value["Model"].tolist()
    assert not at.main.text_input and not at.main.selectbox and not at.main.button  # no forms, no test button


def test_the_page_run_on_its_own_checks_the_login_and_the_role(app_db):
    """Streamlit may run a file of pages/ without app.py: the page must not trust that the gate ran."""
    alone = AppTest.from_file(str(APP.parent / PAGE), default_timeout=30).run()
    assert texts(alone.warning) == ["Please log in first."] and not alone.dataframe and not alone.text_input
    app_db.add_user("sly@example.com", Role.editor)
    with app_db.tx() as s:
        ticket = auth.issue_ticket(auth.login(s, email="sly@example.com", password=PASSWORD).user)
    alone = AppTest.from_file(str(APP.parent / PAGE), default_timeout=30)
    alone.session_state["auth_ticket"] = ticket
    alone.run()
    assert texts(alone.error) == ["Only an owner, admin or developer can do this."]
    assert not alone.dataframe and not alone.text_input
