"""Admin: the price table (base credits per AI operation) and the system AI defaults that accounts without their own
values follow. Both are shared by every account: platform admins edit them, the owners and admins of customer
accounts see them read-only."""
import streamlit as st

import ui
from core import tenancy
from core.ai import settings as ai_settings
from core.billing import pricing
from db.enums import QualityTier

SETTINGS = {"temperature": "Temperature", "max_tokens": "Max tokens", "image_quality_tier": "Image quality tier",
            "image_style": "Image style", "image_quality": "Image quality", "image_size": "Image size",
            "max_images": "Images per article"}
TIERS = [t.value for t in QualityTier]

ctx = ui.current("Pricing & AI defaults", admin=True)
actor = ctx.actor
may_edit = actor.is_platform_admin  # core checks every change again
if not may_edit:
    st.info(f"Read only. {tenancy.PLATFORM_ONLY}", icon=":material/visibility:")

loaded = ui.run_action(lambda s: (pricing.list_costs(s), ai_settings.get_system_defaults(s),
                                  ai_settings.quality_tiers(s)))
if loaded is None:
    st.stop()
cost_rows, defaults, tier_options = loaded
cost_by_op = {c.operation_type: c for c in cost_rows}
tier_credits = {t.tier: t.credits for t in tier_options}


def _tier_label(tier: str) -> str:
    credits = tier_credits.get(tier)
    return tier.capitalize() + ("" if credits is None else f" ({credits} credits/image)")


def costs_tab() -> None:
    st.caption("A change applies to the next estimates and charges; the ledger keeps what earlier work was charged. "
               "Text work is also metered by each model's tokens per credit and images by the tier's credits per "
               "image: the base credits are the floor.")
    ui.table(({"Operation": c.operation_type, "Name": c.display_name, "Base credits": c.base_credits,
               "Unit": pricing.UNITS.get(c.unit, c.unit), "Active": c.is_active,
               "Previous": "" if c.previous_cost is None else str(c.previous_cost), "Description": c.description,
               "Updated": ui.local_time(c.updated_at, ctx.scope.timezone)} for c in cost_rows),
             empty="No credit costs yet.", key="costs_table")
    if not cost_rows or not may_edit:
        return
    op = st.selectbox("Manage operation", list(cost_by_op), key="cost_pick",
                      format_func=lambda o: f"{cost_by_op[o].display_name} ({o})")
    c = cost_by_op[op]
    units = list(pricing.UNITS)
    with st.form(f"cost_edit_{op}"):
        left, right = st.columns(2)
        base = left.number_input("Base credits", value=c.base_credits, step=1, key=f"cost_{op}_credits",
                                 help=f"Whole credits from 0 to {pricing.MAX_BASE_CREDITS:,} per unit.")
        unit = right.selectbox("Unit", units, index=ui.index_of(units, c.unit), format_func=pricing.UNITS.get,
                               key=f"cost_{op}_unit")
        name = st.text_input("Display name", value=c.display_name, key=f"cost_{op}_name")
        notes = st.text_area("Description", value=c.description, key=f"cost_{op}_description")
        active = st.checkbox("Active (switched off, the operation is refused)", value=c.is_active,
                             key=f"cost_{op}_active")
        if st.form_submit_button("Save price", key=f"cost_{op}_save", type="primary"):
            ui.run_action(lambda s: pricing.update_cost(s, actor, operation_type=op, base_credits=base, unit=unit,
                                                        display_name=name, description=notes, is_active=active),
                          success=f"Price of “{name.strip() or c.display_name}” saved.")


def defaults_tab() -> None:
    st.caption("Accounts without their own value of a setting (AI settings screen) use these at once.")
    ui.table(({"Setting": label, "Value": str(getattr(defaults, field))} for field, label in SETTINGS.items()),
             empty="No defaults.", key="defaults_table")
    if not may_edit:
        return
    with st.form("defaults_edit"):
        left, right = st.columns(2)
        low, high = ai_settings.MAX_TOKENS_RANGE
        values = {
            "temperature": st.slider("Temperature", min_value=0.0, max_value=2.0, step=0.05, key="default_temperature",
                                     value=float(defaults.temperature)),
            "max_tokens": left.number_input("Max tokens", value=defaults.max_tokens, step=256,
                                            key="default_max_tokens", help=f"{low:,} to {high:,}."),
            "max_images": right.number_input(f"Images per article (max {ai_settings.MAX_IMAGES_ALLOWED})",
                                             value=defaults.max_images, step=1, key="default_max_images"),
            "image_quality_tier": left.selectbox("Image quality tier", TIERS, format_func=_tier_label,
                                                 index=ui.index_of(TIERS, defaults.image_quality_tier),
                                                 key="default_quality_tier"),
            "image_style": right.selectbox("Image style", list(ai_settings.IMAGE_STYLES),
                                           index=ui.index_of(list(ai_settings.IMAGE_STYLES), defaults.image_style),
                                           format_func=ai_settings.IMAGE_STYLES.__getitem__,
                                           key="default_image_style"),
            "image_quality": left.selectbox("Image quality", ai_settings.IMAGE_QUALITIES, key="default_image_quality",
                                            index=ui.index_of(list(ai_settings.IMAGE_QUALITIES),
                                                              defaults.image_quality)),
            "image_size": right.selectbox("Image size", ai_settings.IMAGE_SIZES, key="default_image_size",
                                          index=ui.index_of(list(ai_settings.IMAGE_SIZES), defaults.image_size)),
        }
        if st.form_submit_button("Save defaults", key="defaults_save", type="primary"):
            ui.run_action(lambda s: ai_settings.update_system_defaults(s, actor, **values),
                          success="System AI defaults saved.")


costs_part, defaults_part = st.tabs(["Credit costs", "System AI defaults"])
with costs_part:
    costs_tab()
with defaults_part:
    defaults_tab()
