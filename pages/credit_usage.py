"""Managers: where the credits and dollars went — per day and operation, per site, model and user, the balance over
time, the costliest work, the usage rows and a CSV export. Every number is added up in SQL by core.billing.usage."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

import ui
from core.billing import usage
from core.errors import DomainError
from core.tenancy import Actor

PAGE = 50
ROWS = "usage_rows"  # session state: the usage rows loaded so far (plain dicts) and the filter they belong to

ctx = ui.current("Credit usage", admin=True)
scope = ctx.scope
if scope.account_id is None:
    st.info("Pick an account in the sidebar first.")
    st.stop()

tz = scope.timezone  # days are counted in the picked site's time zone
today = datetime.now(ZoneInfo(tz)).date()
left, right = st.columns([1, 2])
picked = left.date_input("Dates", value=(today - timedelta(days=29), today), key="usage_dates",
                         format="YYYY-MM-DD")
site_ids = right.multiselect("Sites", list(scope.sites), format_func=scope.sites.__getitem__, key="usage_sites",
                             placeholder="All sites")
if not isinstance(picked, tuple | list) or len(picked) != 2:
    st.info("Pick the last day of the range too.")
    st.stop()
start, end = picked
sites_key = tuple(sorted(site_ids))
st.caption(f"Days in {tz} · {'all sites' if not site_ids else ', '.join(scope.sites[i] for i in sites_key)}"
           " · the balance is the whole account's")


@st.cache_data(ttl=60, show_spinner="Adding up the usage …")
def _report(actor: Actor, account_id: int, site_ids: tuple[int, ...], start: date, end: date,
            tz: str) -> usage.Report:
    # The scope (actor with its account, sites, dates, zone) is the cache key: no one sees another scope's numbers.
    with ui.get_runtime().transaction() as s:
        return usage.report(s, actor, start=start, end=end, site_ids=list(site_ids), tz=tz)


try:
    rep = _report(ctx.actor, scope.account_id, sites_key, start, end, tz)
except DomainError as e:
    st.error(str(e))
    st.stop()

t = rep.totals
for col, (label, value) in zip(st.columns(4), (
        ("Credits used", f"{t.credits:,}"), ("Cost (USD)", f"${t.cost_usd:,.2f}"), ("AI calls", f"{t.calls:,}"),
        ("Balance now", f"{rep.balance:,}")), strict=True):
    col.metric(label, value)


def _credits_and_usd(groups: list[usage.Group], title: str) -> go.Figure:
    """Credits (left axis) and USD (right axis) side by side per bar label."""
    labels = [g.label for g in groups]
    fig = go.Figure([
        go.Bar(name="Credits", x=labels, y=[g.credits for g in groups], offsetgroup=0),
        go.Bar(name="USD", x=labels, y=[float(g.cost_usd) for g in groups], yaxis="y2", offsetgroup=1),
    ])
    fig.update_layout(title=title, barmode="group", yaxis={"title": "Credits"},
                      yaxis2={"title": "USD", "overlaying": "y", "side": "right", "showgrid": False},
                      legend={"orientation": "h", "y": -0.2}, margin={"t": 40})
    return fig


if t.calls == 0:
    st.info("No AI usage in this range.")
else:
    days = pd.DataFrame([{"Day": d.day, "Operation": d.operation, "Credits": d.credits, "USD": float(d.cost_usd)}
                         for d in rep.per_day])
    fig = px.bar(days, x="Day", y="Credits", color="Operation", hover_data=["USD"],
                 title="Credits per day by operation")
    fig.update_layout(barmode="stack", margin={"t": 40})
    st.plotly_chart(fig, key="usage_per_day")
    a, b = st.columns(2)
    a.plotly_chart(_credits_and_usd(rep.by_site, "Credits and USD by site"), key="usage_by_site")
    b.plotly_chart(_credits_and_usd(rep.by_model, "Credits and USD by model"), key="usage_by_model")
    a, b = st.columns(2)
    a.plotly_chart(_credits_and_usd(rep.by_user, "Credits and USD by user"), key="usage_by_user")
    if rep.balance_over_time:
        points = pd.DataFrame([{"Day": p.day, "Balance": p.balance} for p in rep.balance_over_time])
        line = px.line(points, x="Day", y="Balance", line_shape="hv", markers=True, title="Balance over time")
        b.plotly_chart(line.update_layout(margin={"t": 40}), key="usage_balance")

    st.subheader("Most expensive work")
    ui.table(({"What": c.object_type, "Id": c.object_id, "Title": c.title, "Credits": c.credits,
               "USD": f"{c.cost_usd:.4f}", "Calls": c.calls} for c in rep.costliest),
             empty="No usage is linked to tasks, content or clusters in this range.", key="usage_costliest")

st.subheader("Usage rows")
scope_key = (scope.account_id, sites_key, start.isoformat(), end.isoformat(), tz)


def _shape(rows: list[usage.UsageRow]) -> list[dict]:
    return [{"id": r.id, f"When ({tz})": ui.local_time(r.created_at, tz), "Site": r.site, "User": r.user,
             "Operation": r.operation, "Model": r.model, "Tokens in": r.tokens_input, "Tokens out": r.tokens_output,
             "Credits": r.credits, "USD": f"{r.cost_usd:.6f}",
             "For": f"{r.related_type} #{r.related_id}" if r.related_id is not None else ""} for r in rows]


def _fetch(before_id: int | None) -> None:
    """Load one keyset page after `before_id` and append it to what this session has loaded."""
    page = ui.run_action(lambda s: usage.list_usage(s, ctx.actor, start=start, end=end, site_ids=list(sites_key),
                                                    tz=tz, limit=PAGE, before_id=before_id))
    if page is None:
        return
    loaded = st.session_state[ROWS]["rows"] if before_id is not None else []
    st.session_state[ROWS] = {"scope": scope_key, "rows": loaded + _shape(page), "more": len(page) == PAGE}


def _load_more() -> None:
    rows = st.session_state[ROWS]["rows"]
    _fetch(rows[-1]["id"] if rows else None)


if st.session_state.get(ROWS, {}).get("scope") != scope_key:
    _fetch(None)
state = st.session_state.get(ROWS, {"rows": [], "more": False})
ui.table(state["rows"], empty="No usage rows in this range.", key="usage_rows_table")
st.caption(f"{len(state['rows']):,} of {t.calls:,} rows shown")
if state["more"]:
    st.button("Load more", key="usage_load_more", on_click=_load_more)


def _csv() -> bytes:
    # Runs on a separate thread when the button is pressed; the export streams from the database in chunks.
    buf = io.StringIO()
    with ctx.rt.transaction() as s:
        usage.export_usage_csv(s, ctx.actor, start=start, end=end, site_ids=list(sites_key), tz=tz, out=buf)
    return buf.getvalue().encode("utf-8")


st.download_button("Download CSV", data=_csv, file_name=f"credit-usage-{start}-{end}.csv", mime="text/csv",
                   key="usage_csv", on_click="ignore", icon=":material/download:", disabled=t.calls == 0)
