"""Prompts and voices: the prompt in force per AI function (the account's own or the default), editing with the
variables checked, reset to the default; author profiles and strategies that feed the prompts."""
import streamlit as st

import ui
from core.ai import prompts
from db.enums import Tone

SYNC = "prompt_sync"  # session state: (account, prompt type) the editor shows; anything else reloads it

ctx = ui.current("Prompts & voices")
actor = ctx.actor
if actor.account_id is None:
    st.info(ui.md(ui.missing_scope(ctx, sector=False)))  # a developer before any account exists
    st.stop()
may_edit, may_write = actor.is_admin, actor.can_write


def _load(s):
    return prompts.list_prompts(s, actor), prompts.list_author_profiles(s, actor), prompts.list_strategies(s, actor)


loaded = ui.run_action(_load)
if loaded is None:
    st.stop()
prompt_rows, profile_rows, strategy_rows = loaded
prompt_by_type = {p.prompt_type: p for p in prompt_rows}


def _vars(names: list[str]) -> str:
    return ", ".join("{" + v + "}" for v in names) or "none"


def _all_vars(view: prompts.PromptView) -> str:
    return _vars(view.required) + (f"; optional: {_vars(view.optional)}" if view.optional else "")


def _done(result: object, message: str) -> None:
    """After a committed save or reset: the editor reloads what is stored, and the message shows."""
    if result is not None:
        st.session_state[SYNC] = None
        ui.flash(message)
        st.rerun()


prompts_part, profiles_part, strategies_part = st.tabs(["Prompts", "Author profiles", "Strategies"])

with prompts_part:
    ui.table(({"Prompt": p.prompt_type, "In force": "Account's own" if p.is_override else "Default",
               "Variables": _all_vars(p), "Characters": len(p.text)} for p in prompt_rows),
             empty="No prompts.", key="prompts_table")
    if not may_edit:
        st.caption("Only owners and admins can change prompts.")
    if prompt_rows:
        ptype = st.selectbox("Prompt", list(prompt_by_type), key="prompt_pick")
        view = prompt_by_type[ptype]
        text_key = f"prompt_text_{ptype}"
        # The editor shows what is stored on the first visit, after a save or reset, and when the account changes.
        if st.session_state.get(SYNC) != (actor.account_id, ptype) or text_key not in st.session_state:
            st.session_state[text_key] = view.text
            st.session_state[SYNC] = (actor.account_id, ptype)
        st.markdown(f"**{ui.md(ptype)}** · {'the account’s own version' if view.is_override else 'the default'} · "
                    f"variables: {ui.md(_all_vars(view))}")
        st.caption("Write {variable} where the value goes, plain (no :format or !conversion); {{ and }} stand for "
                   "literal braces. Every variable listed must be used, the optional ones (the author profile and "
                   "strategy) may be left out, and no others.")
        with st.form(f"prompt_edit_{ptype}"):
            text = st.text_area("Prompt text", key=text_key, height=300, disabled=not may_edit)
            if st.form_submit_button("Save prompt", key=f"prompt_save_{ptype}", type="primary",
                                     disabled=not may_edit):
                _done(ui.run_action(lambda s: prompts.save_override(s, actor, prompt_type=ptype, text=text)),
                      f"Prompt “{ptype}” saved for this account.")
        if st.button("Reset to default", key=f"prompt_reset_{ptype}", disabled=not (may_edit and view.is_override),
                     help="Drop the account's own version: the default applies again."):
            _done(ui.run_action(lambda s: prompts.reset_to_default(s, actor, prompt_type=ptype)),
                  f"Prompt “{ptype}” reset to the default.")
        if view.is_override:
            with st.expander("The default text"):
                st.code(view.default_text, language=None, wrap_lines=True)

with profiles_part:
    ui.table(({"Name": p.name, "Tone": p.tone.value, "Language": p.language,
               "Scope": "Global" if p.account_id is None else "Account", "Description": p.description}
              for p in profile_rows), empty="No author profiles yet.", key="profiles_table")
    tones = [t.value for t in Tone]
    with st.form("profile_create"):
        st.markdown("**Add an author profile**")
        p_name = st.text_input("Name", key="profile_name", disabled=not may_write)
        p_tone = st.selectbox("Tone", tones, key="profile_tone", disabled=not may_write)
        p_lang = st.text_input("Language", value="en", key="profile_language", disabled=not may_write,
                               help="A code such as en, de or pt-br.")
        p_desc = st.text_area("Description", key="profile_description", disabled=not may_write,
                              help="How this voice writes; the article prompt gets it with the tone and language.")
        if st.form_submit_button("Add profile", key="profile_create_submit", disabled=not may_write):
            ui.run_action(lambda s: prompts.create_author_profile(s, actor, name=p_name, tone=p_tone,
                                                                  language=p_lang, description=p_desc),
                          success=f"Author profile “{p_name.strip()}” added.",
                          clear=("profile_name", "profile_description"))

with strategies_part:
    sectors = ctx.scope.sectors
    ui.table(({"Name": x.name, "Scope": "Global" if x.account_id is None else "Account",
               "Sector": "" if x.sector_id is None else sectors.get(x.sector_id, f"#{x.sector_id}"),
               "Used for": ", ".join(x.prompt_types) or "all", "Description": x.description,
               "Section logic": prompts.describe_section_logic(x.section_logic)} for x in strategy_rows),
             empty="No strategies yet.", key="strategies_table")
    with st.form("strategy_create"):
        st.markdown("**Add a strategy**")
        s_name = st.text_input("Name", key="strategy_name", disabled=not may_write)
        s_desc = st.text_area("Description", key="strategy_description", disabled=not may_write)
        s_types = st.multiselect("Used for", list(prompts.STRATEGY_PROMPTS), key="strategy_prompt_types",
                                 disabled=not may_write, help="The prompts that get this strategy; none: all of them.")
        s_logic = st.text_area("Section logic", key="strategy_section_logic", disabled=not may_write,
                               placeholder="intro: a hook of two sentences\nfaq: close with five questions",
                               help="One rule per line, as “name: rule”. The prompt gets them as a list.")
        here = ctx.scope.sector_id is not None
        s_sector = st.checkbox(f"Only for sector “{ui.md(ctx.scope.sector_name)}” of {ui.md(ctx.scope.site_name)}"
                               if here else "Only for one sector (pick a site and sector in the sidebar)",
                               key="strategy_for_sector", disabled=not (may_write and here))
        if st.form_submit_button("Add strategy", key="strategy_create_submit", disabled=not may_write):
            ui.run_action(lambda s: prompts.create_strategy(
                s, actor, name=s_name, description=s_desc, sector_id=ctx.scope.sector_id if s_sector else None,
                site_id=ctx.scope.site_id if s_sector else None, prompt_types=s_types,
                section_logic=prompts.section_logic_from_text(s_logic)),
                success=f"Strategy “{s_name.strip()}” added.",
                clear=("strategy_name", "strategy_description", "strategy_section_logic"))
