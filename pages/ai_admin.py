"""Admin: AI and service providers (keys encrypted, shown masked; test connection) and the AI models with their
prices, credits and quality tiers (one default per type). Both are shared by every account: platform admins edit
them, the owners and admins of customer accounts see them read-only."""
import json

import streamlit as st

import ui
from core import tenancy
from core.ai import engine, providers
from core.ai import models as ai_models
from core.errors import DomainError

ENDPOINT_HELP = ("The provider's base URL. OpenAI: https://api.openai.com/v1. Any OpenAI-compatible server works "
                 "the same way: Azure OpenAI (https://NAME.openai.azure.com/openai/v1), Ollama "
                 "(http://localhost:11434/v1), vLLM (http://HOST:8000/v1), LM Studio (http://localhost:1234/v1).")
CONFIG_HELP = ("Optional JSON object. Known keys: max_concurrency and rpm (calls at once, requests per minute), "
               "max_attempts, timeout_s, backoff_base_s, backoff_max_s, max_retry_after_s (retries), "
               "json_mode (false for servers without JSON mode), api (\"runware\" for a Runware-style API).")
SECRETS = {"api_key": "API key", "api_secret": "API secret", "webhook_secret": "Webhook secret"}
TIERS = ["", "basic", "quality", "premium"]
CAPABILITIES_NEW_HELP = " Left empty, GPT-5.x and o-series models get the reasoning-model flags."

ctx = ui.current("AI providers & models", admin=True)
actor = ctx.actor
may_edit = actor.is_platform_admin  # core checks every change again
if not may_edit:
    st.info(f"Read only. {tenancy.PLATFORM_ONLY}", icon=":material/visibility:")

loaded = ui.run_action(lambda s: (providers.list_providers(s, actor), ai_models.list_models(s)))
if loaded is None:
    st.stop()
provider_rows, model_rows = loaded
provider_by_id = {p.provider_id: p for p in provider_rows}
model_by_id = {m.id: m for m in model_rows}


def _tier_name(tier: str) -> str:
    return tier.capitalize() if tier else "—"


def _price(value: object) -> str:
    return "" if value is None else str(value)


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _or_none(text: str) -> str | None:
    return text.strip() or None


def _capabilities(m) -> str:
    return json.dumps(m.capabilities) if m is not None and m.capabilities else ""


def _config(text: str, no_key: bool) -> dict | None:
    """The config JSON typed in, with the keyless switch applied; None (and a message) when it is not JSON."""
    try:
        config = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as e:
        st.error(ui.md(f"The config is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})."))
        return None
    if isinstance(config, dict):
        config = {k: v for k, v in config.items() if k != "allow_no_key"} | ({"allow_no_key": True} if no_key else {})
    return config  # anything but an object is refused by core with its message


def _test_model(pid: str) -> str | None:
    """A model to ping when the server cannot list its models: the provider's default text model, else its first."""
    text_models = [m for m in model_rows if m.provider == pid and m.model_type == "text" and m.is_active]
    text_models.sort(key=lambda m: not m.is_default)
    return text_models[0].model_name if text_models else None


def _test_connection(pid: str) -> None:
    # The engine opens its own short transaction for the key and calls the provider outside it.
    with st.spinner(f"Calling {ui.md(provider_by_id[pid].display_name)} …"):
        try:
            check = engine.check_provider(ui.get_runtime(), actor, provider_id=pid, model=_test_model(pid))
        except DomainError as e:
            st.error(ui.md(e))
            return
    if check.ok:  # the message and the model names come from the provider's server
        st.success(ui.md(check.message))
        if check.models:
            st.caption("Models: " + ui.md(", ".join(check.models[:50])) + (" …" if len(check.models) > 50 else ""))
    else:
        st.error(ui.md(check.message))


def providers_tab() -> None:
    ui.table(({"Provider": p.provider_id, "Name": p.display_name, "Type": p.provider_type,
               "Endpoint": p.api_endpoint, "Active": p.is_active, "Sandbox": p.is_sandbox,
               "API key": p.api_key_masked, "API secret": p.api_secret_masked,
               "Webhook secret": p.webhook_secret_masked} for p in provider_rows),
             empty="No providers.", key="providers_table")
    if not provider_rows or not may_edit:
        return
    pid = st.selectbox("Manage provider", list(provider_by_id), key="provider_pick",
                       index=ui.index_of(list(provider_by_id), "openai"),
                       format_func=lambda i: f"{provider_by_id[i].display_name} ({i})")
    p = provider_by_id[pid]
    with st.form(f"provider_edit_{pid}"):
        st.markdown(f"**{ui.md(p.display_name)}** · stored key: {ui.md(p.api_key_masked or 'none')}")
        key = st.text_input("API key", type="password", key=f"provider_key_{pid}",
                            help="Stored encrypted and shown masked. Leave empty to keep the stored one.")
        secret = st.text_input("API secret", type="password", key=f"provider_secret_{pid}",
                               help="Second secret (Stripe, PayPal). Leave empty to keep the stored one.")
        webhook = st.text_input("Webhook secret", type="password", key=f"provider_webhook_{pid}",
                                help="Leave empty to keep the stored one.")
        remove = st.multiselect("Remove stored secrets", list(SECRETS), format_func=SECRETS.__getitem__,
                                key=f"provider_remove_{pid}")
        endpoint = st.text_input("Endpoint (base URL)", value=p.api_endpoint, key=f"provider_endpoint_{pid}",
                                 help=ENDPOINT_HELP)
        active = st.checkbox("Active", value=p.is_active, key=f"provider_active_{pid}")
        sandbox = st.checkbox("Sandbox (test mode)", value=p.is_sandbox, key=f"provider_sandbox_{pid}")
        no_key = st.checkbox("No API key needed (a local server such as Ollama or LM Studio)",
                             value=bool(p.config.get("allow_no_key")), key=f"provider_nokey_{pid}")
        config_text = st.text_area("Advanced config (JSON)", key=f"provider_config_{pid}", help=CONFIG_HELP,
                                   value=json.dumps({k: v for k, v in p.config.items() if k != "allow_no_key"},
                                                    indent=2) if p.config else "")
        if st.form_submit_button("Save provider", key=f"provider_save_{pid}", type="primary"):
            typed = {"api_key": key, "api_secret": secret, "webhook_secret": webhook}
            given = {f: ("" if f in remove else _or_none(v)) for f, v in typed.items()}
            config = _config(config_text, no_key)
            if config is not None:
                ui.run_action(lambda s: providers.update_provider(
                    s, actor, provider_id=pid, api_endpoint=endpoint, is_active=active, is_sandbox=sandbox,
                    config=config, **given), success=f"Provider “{p.display_name}” saved.",
                    clear=(f"provider_key_{pid}", f"provider_secret_{pid}", f"provider_webhook_{pid}"))
    if st.button("Test connection", key=f"provider_test_{pid}", icon=":material/network_check:",
                 help="Lists the server's models with the stored key and endpoint (or asks one model for one token)."):
        _test_connection(pid)


def _model_fields(prefix: str, m=None) -> dict:
    """The editable fields of a model as inputs (empty prices and numbers keep the stored value on edit)."""
    left, right = st.columns(2)
    fields = {
        "cost_per_1k_input": left.text_input("USD per 1k input tokens", value=_price(m and m.cost_per_1k_input),
                                             key=f"{prefix}_cin"),
        "cost_per_1k_output": right.text_input("USD per 1k output tokens", value=_price(m and m.cost_per_1k_output),
                                               key=f"{prefix}_cout"),
        "cost_per_image": left.text_input("USD per image", value=_price(m and m.cost_per_image), key=f"{prefix}_cimg"),
        "tokens_per_credit": right.number_input("Tokens per credit (text)", value=m and m.tokens_per_credit,
                                                step=1, key=f"{prefix}_tpc"),
        "credits_per_image": left.number_input("Credits per image (image)", value=m and m.credits_per_image,
                                               step=1, key=f"{prefix}_cpi"),
        "quality_tier": right.selectbox("Quality tier (image)", TIERS, format_func=_tier_name, key=f"{prefix}_tier",
                                        index=ui.index_of(TIERS, str(m.quality_tier or "") if m else "")),
        "max_tokens": left.number_input("Max tokens", value=m and m.max_tokens, step=1,
                                        key=f"{prefix}_max"),
        "context_window": right.number_input("Context window", value=m and m.context_window, step=1,
                                             key=f"{prefix}_ctx"),
        "capabilities": st.text_area("Capabilities (JSON)", value=_capabilities(m), key=f"{prefix}_caps",
                                     help=ai_models.CAPABILITIES_HELP + CAPABILITIES_NEW_HELP * (m is None)),
    }
    raw = ("quality_tier", "capabilities")  # an empty tier or capabilities text is a value, not "keep"
    return {k: (_or_none(v) if isinstance(v, str) and k not in raw else v) for k, v in fields.items()}


def models_tab() -> None:
    ui.table(({"Id": m.id, "Type": str(m.model_type), "Model": m.model_name, "Name": m.display_name,
               "Provider": m.provider, "Default": m.is_default, "Active": m.is_active,
               "USD/1k in": _price(m.cost_per_1k_input), "USD/1k out": _price(m.cost_per_1k_output),
               "USD/image": _price(m.cost_per_image), "Tokens/credit": _count(m.tokens_per_credit),
               "Credits/image": _count(m.credits_per_image), "Tier": _tier_name(str(m.quality_tier or "")),
               "Capabilities": _capabilities(m)}
              for m in model_rows), empty="No models yet.", key="models_table")
    if not may_edit:
        return

    with st.expander("Add a model"), st.form("model_create"):
        name = st.text_input("Model name", key="model_name", help="As the provider calls it: gpt-4o-mini, "
                             "llama3.1:8b, dall-e-3, runware:97@1 …")
        display = st.text_input("Display name", key="model_display")
        mtype = st.selectbox("Type", ["text", "image"], key="model_type")
        provider = st.selectbox("Provider", list(provider_by_id), key="model_provider",
                                format_func=lambda i: provider_by_id[i].display_name)
        fields = _model_fields("model_new")
        if st.form_submit_button("Add model", key="model_create_submit", type="primary"):
            ui.run_action(lambda s: ai_models.create_model(s, actor, model_name=name, model_type=mtype,
                                                           provider=provider, display_name=display, **fields),
                          success=f"Model “{name.strip()}” added.", clear=("model_name", "model_display"))

    if not model_rows:
        return
    mid = st.selectbox("Manage model", list(model_by_id), key="model_pick",
                       format_func=lambda i: f"{model_by_id[i].model_name} ({model_by_id[i].model_type})"
                       + (" · default" if model_by_id[i].is_default else ""))
    m = model_by_id[mid]
    with st.form(f"model_edit_{mid}"):
        st.markdown(f"**{ui.md(m.model_name)}** · {ui.md(m.model_type)} · provider {ui.md(m.provider)}")
        e_display = st.text_input("Display name", value=m.display_name, key=f"model_edit_{mid}_display")
        e_active = st.checkbox("Active", value=m.is_active, key=f"model_edit_{mid}_active")
        e_fields = _model_fields(f"model_edit_{mid}", m)
        if st.form_submit_button("Save model", key=f"model_edit_{mid}_submit"):
            ui.run_action(lambda s: ai_models.update_model(s, actor, model_id=mid, display_name=e_display,
                                                           is_active=e_active, **e_fields),
                          success=f"Model “{m.model_name}” saved.")
    if st.button(f"Make the default {ui.md(m.model_type)} model", key=f"model_default_{mid}", disabled=m.is_default,
                 help="Exactly one default per type: the previous default stops being it."):
        ui.run_action(lambda s: ai_models.set_default(s, actor, model_id=mid),
                      success=f"“{m.model_name}” is now the default {m.model_type} model.")


providers_part, models_part = st.tabs(["Providers", "Models"])
with providers_part:
    providers_tab()
with models_part:
    models_tab()
