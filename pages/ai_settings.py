"""Content Generation Settings: the account's effective AI settings (system defaults + its overrides).

Everyone sees the values in force; owners, admins and developers may change them or go back to the system defaults.
"""
import streamlit as st

import ui
from core.ai import settings as ai_settings

SYNC = "ai_settings_sync"  # session state: the account whose stored values the inputs show (None: reload them)
TIER_NOTES = {"basic": "Fast, simple", "quality": "Balanced", "premium": "Best quality"}
FIELDS = {"temperature": "ai_temperature", "max_tokens": "ai_max_tokens", "image_quality_tier": "ai_quality_tier",
          "image_style": "ai_image_style", "max_images": "ai_max_images"}

ctx = ui.current("Content Generation Settings")
actor = ctx.actor
if actor.account_id is None:
    st.info(ui.md(ui.missing_scope(ctx, sector=False)))  # a developer before any account exists
    st.stop()

loaded = ui.run_action(lambda s: (ai_settings.get_effective(s, actor), ai_settings.quality_tiers(s)))
if loaded is None:
    st.stop()
effective, tiers = loaded
may_change = actor.is_admin

# The inputs show what is stored: on the first visit, after a save or reset, and when the account changes. The
# values are put into session state before the widgets exist (the only moment Streamlit takes them).
if st.session_state.get(SYNC) != actor.account_id:
    for field, key in FIELDS.items():
        st.session_state[key] = getattr(effective, field)
    st.session_state[SYNC] = actor.account_id
else:
    for field, key in FIELDS.items():
        st.session_state.setdefault(key, getattr(effective, field))

tier_by_name = {t.tier: t for t in tiers}
tier_options = list(tier_by_name)
if effective.image_quality_tier not in tier_by_name:  # a tier no active model offers is still shown as chosen
    tier_options.append(effective.image_quality_tier)


def _tier_label(tier: str) -> str:
    """A radio option (Markdown, like a label): the model names in it come from the database."""
    option = tier_by_name.get(tier)
    if option is None:
        return f"{ui.md(tier.capitalize())} (no active image model offers it)"
    unit = "credit" if option.credits == 1 else "credits"
    return f"{ui.md(option.label)} ({option.credits:,} {unit}/image) – {ui.md(TIER_NOTES.get(tier, option.model_name))}"


def _saved(done: object, message: str) -> None:
    """After a committed save or reset: reload the inputs from the database and show the message."""
    if done is not None:
        st.session_state[SYNC] = None
        ui.flash(message)
        st.rerun()


if not may_change:
    st.caption("Only owners and admins can change these settings; they apply to every AI run of the account.")

with st.form("ai_settings_form"):
    st.subheader("AI Parameters")
    temperature = st.slider("Temperature", min_value=0.0, max_value=2.0, step=0.05, key=FIELDS["temperature"],
                            disabled=not may_change, )
    st.caption("More focused ←→ More creative")
    max_tokens = st.number_input(
        "Max tokens", step=256, key=FIELDS["max_tokens"], disabled=not may_change,
        help=f"Response length limit: {ai_settings.MAX_TOKENS_RANGE[0]:,} to {ai_settings.MAX_TOKENS_RANGE[1]:,}.")
    st.subheader("Image Generation")
    if not tiers:
        st.warning("No active image model offers a quality tier. " + (
            "Add one under Admin → AI providers & models." if actor.is_platform_admin else
            "The platform team (the team running this dashboard) sets up image models: ask them to add one."))
    tier = st.radio("Image quality", tier_options, format_func=_tier_label, key=FIELDS["image_quality_tier"],
                    disabled=not may_change)
    style = st.selectbox("Image style", list(ai_settings.IMAGE_STYLES), key=FIELDS["image_style"],
                         format_func=ai_settings.IMAGE_STYLES.__getitem__, disabled=not may_change)
    max_images = st.number_input(f"Images per article (max {ai_settings.MAX_IMAGES_ALLOWED})", step=1,
                                 key=FIELDS["max_images"], disabled=not may_change,
                                 help="In-article images; the featured image comes on top.")
    if st.form_submit_button("Save settings", key="ai_settings_save", type="primary", disabled=not may_change):
        _saved(ui.run_action(lambda s: ai_settings.save(
            s, actor, temperature=temperature, max_tokens=max_tokens, image_quality_tier=tier, image_style=style,
            max_images=max_images)), "AI settings saved.")

st.caption(f"Image size {ui.md(effective.image_size)}, image quality {ui.md(effective.image_quality)} "
           "(system defaults).")
if st.button("Reset to system defaults", key="ai_settings_reset", disabled=not may_change,
             help="Forget this account's own values: the system defaults apply again."):
    _saved(ui.run_action(lambda s: ai_settings.reset(s, actor)), "AI settings reset to the system defaults.")
