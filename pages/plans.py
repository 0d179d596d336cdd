"""Developers: the plans accounts subscribe to — prices, limits, availability."""
import streamlit as st

import ui
from core.identity import accounts

ctx = ui.current("Plans", developer=True)
platform = ctx.platform


LIMITS = {"max_sites": "Sites", "max_users": "Users", "max_keywords": "Keywords", "max_clusters": "Clusters",
          "included_credits": "Credits / month"}

plan_rows = ui.run_action(lambda s: accounts.list_plans(s, platform, include_inactive=True))
if plan_rows is None:
    st.stop()
plan_by_id = {p.id: p for p in plan_rows}

ui.table(({"Name": p.name, "Slug": p.slug, "Monthly": f"{p.price_monthly:.2f}", "Yearly": f"{p.price_yearly:.2f}",
           **{label: getattr(p, field) for field, label in LIMITS.items()}, "Active": p.is_active}
          for p in plan_rows), empty="No plans yet.", key="plans_table")


def _limit_inputs(prefix: str, values: dict[str, int]) -> dict[str, int]:
    columns = st.columns(len(LIMITS))
    # No min/max: the browser would block the form's button without a word; core names the range (0 to 1e9).
    return {field: column.number_input(ui.md(label), step=1, value=values.get(field, 0), key=f"{prefix}_{field}")
            for column, (field, label) in zip(columns, LIMITS.items(), strict=True)}


with st.expander("Add a plan"), st.form("plan_create"):
    name = st.text_input("Name", key="plan_name")
    slug = st.text_input("Slug (optional, made from the name)", key="plan_slug")
    left, right = st.columns(2)
    monthly = left.text_input("Monthly price", value="0.00", key="plan_price_monthly")
    yearly = right.text_input("Yearly price", value="0.00", key="plan_price_yearly")
    limits = _limit_inputs("plan", {"max_sites": 1, "max_users": 1, "max_keywords": 1000, "max_clusters": 100})
    if st.form_submit_button("Create plan", key="plan_create_submit", type="primary"):
        ui.run_action(lambda s: accounts.create_plan(s, platform, name=name, slug=slug or None,
                                                     price_monthly=monthly, price_yearly=yearly, **limits),
                      success=f"Plan “{name.strip()}” created.", clear=("plan_name", "plan_slug"))

if not plan_rows:
    st.stop()

st.divider()
plan_ids = list(plan_by_id)
plan_id = st.selectbox("Edit plan", plan_ids, key="plan_pick",
                       format_func=lambda i: plan_by_id[i].name + ("" if plan_by_id[i].is_active else " (inactive)"))
plan = plan_by_id[plan_id]
pid = plan.id

with st.form(f"plan_edit_{pid}"):
    e_name = st.text_input("Name", value=plan.name, key=f"plan_edit_name_{pid}")
    left, right = st.columns(2)
    e_monthly = left.text_input("Monthly price", value=f"{plan.price_monthly:.2f}", key=f"plan_edit_monthly_{pid}")
    e_yearly = right.text_input("Yearly price", value=f"{plan.price_yearly:.2f}", key=f"plan_edit_yearly_{pid}")
    e_limits = _limit_inputs(f"plan_edit_{pid}", {field: getattr(plan, field) for field in LIMITS})
    e_active = st.checkbox("Offered to new accounts", value=plan.is_active, key=f"plan_edit_active_{pid}")
    if st.form_submit_button("Save plan", key=f"plan_edit_submit_{pid}"):
        ui.run_action(lambda s: accounts.update_plan(s, platform, plan_id=pid, name=e_name, price_monthly=e_monthly,
                                                     price_yearly=e_yearly, is_active=e_active, **e_limits),
                      success=f"Plan “{e_name.strip()}” saved.")
