"""Managers: where the credits and dollars went — per day and operation, per site, model or user, the balance over
time, the costliest work, the usage rows and a CSV export. Every number is added up in SQL by core.billing.usage;
days are counted in the time zone of the sites in view (UTC when their zones differ)."""
from __future__ import annotations

import io
import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from html import escape
from zoneinfo import ZoneInfo

import streamlit as st

import ui
from core.billing import usage, usage_display
from core.errors import DomainError
from core.tenancy import Actor

PAGE = 50
ROWS = "usage_rows"  # session state: the usage rows loaded so far (plain dicts) and the filter they belong to
MIXED = "Days in UTC: the sites lie in different time zones (pick sites of one zone to count their local days)"
CREDITS_COLOUR, USD_COLOUR = "#2563eb", "#16a34a"
# The charts carry their own light styling (the app's fixed light theme) and are drawn with theme=None: Streamlit's
# chart theme costs each chart a second render in the browser. Types, sizes and colours as in .streamlit/config.toml.
LOOK = {"template": "none", "font": {"family": "sans-serif", "color": "#1f2937", "size": 12},
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)", "hoverlabel": {"font": {"size": 12}},
        "colorway": ["#2563eb", "#60a5fa", "#f97316", "#fdba74", "#16a34a", "#86efac", "#a855f7", "#e11d48"]}
GRID = {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db", "automargin": True}
BREAKDOWNS = {"site": "by_site", "model": "by_model", "user": "by_user"}

ctx = ui.current("Credit usage", admin=True)
scope = ctx.scope
if scope.account_id is None:
    st.info("Pick an account in the sidebar first.")
    st.stop()

left, right = st.columns([1, 2])
site_ids = right.multiselect("Sites", list(scope.sites), format_func=scope.sites.__getitem__, key="usage_sites",
                             placeholder="All sites")
sites_key = tuple(sorted(site_ids))
try:  # days are counted in the time zone of the sites in view (UTC when they differ)
    with ctx.rt.transaction() as s:
        shared_zone = usage_display.display_zone(s, ctx.actor, site_ids=list(sites_key))
except DomainError as e:
    st.error(ui.md(e))
    st.stop()
tz = shared_zone or "UTC"
today = datetime.now(ZoneInfo(tz)).date()
picked = left.date_input("Dates", value=(today - timedelta(days=29), today), key="usage_dates",
                         format="YYYY-MM-DD")
if not isinstance(picked, tuple | list) or len(picked) != 2:
    st.info("Pick the last day of the range too.")
    st.stop()
start, end = picked
shown_sites = "all sites" if not site_ids else ", ".join(scope.sites[i] for i in sites_key)
st.caption(f"{f'Days in {ui.md(tz)}' if shared_zone else MIXED} · {ui.md(shown_sites)}"
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
    st.error(ui.md(e))
    st.stop()

t = rep.totals
for col, (label, value) in zip(st.columns(4), (
        ("Credits used", f"{t.credits:,}"), ("Cost (USD)", f"${t.cost_usd:,.2f}"), ("AI calls", f"{t.calls:,}"),
        ("Balance now", f"{rep.balance:,}")), strict=True):
    col.metric(label, value)


# The charts are plain plotly figure dicts (plotly express took longer than the SQL behind them), with round ticks.
# Plotly reads <b>, <a href> … in labels and names: names from people go in as text (escaped).

def _text(name: str) -> str:
    return escape(name, quote=False)


def _step(span: float, *, whole: bool) -> float:
    """The smallest round tick step (1, 2, 2.5 or 5 × 10ⁿ; whole numbers: 1, 2 or 5 × 10ⁿ) that needs at most four
    steps from 0 to span."""
    raw = span / 4 if span > 0 else 1
    base = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if whole or base < 1e-6 else (1, 2, 2.5, 5, 10)
    step = next(m * base for m in steps if m * base >= raw * (1 - 1e-9))
    return max(1, round(step)) if whole else round(step, 12)


def _credits_axis(top: float, **extra) -> dict:
    return {"title": {"text": "Credits"}, "tickformat": ",d", "dtick": _step(top, whole=True), "tick0": 0,
            "rangemode": "tozero", **GRID, **extra}


def _usd_axis(top: float, **extra) -> dict:
    """Dollars with cents, more places only when the step needs them: $0.00, $0.25, $0.50 … never 0.165."""
    step = _step(top, whole=False)
    places = max(2, -Decimal(repr(step)).normalize().as_tuple().exponent)
    return {"title": {"text": "USD"}, "tickformat": f"$,.{places}f", "dtick": step, "tick0": 0,
            "rangemode": "tozero", **GRID, **extra}


def _layout(title: str, *, top: int = 50, **rest) -> dict:
    return {**LOOK, "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
            "margin": {"t": top, "l": 8, "r": 8, "b": 8}, **rest}


def _per_day_figure(days: list[usage.DayOperation]) -> dict:
    """Stacked credits per day, one trace per operation by its display name; the legend above the plot."""
    ops: dict[str, list[usage.DayOperation]] = {}
    totals: dict[date, int] = {}
    for d in sorted(days, key=lambda d: d.day):
        ops.setdefault(d.operation, []).append(d)
        totals[d.day] = totals.get(d.day, 0) + d.credits
    data = [{"type": "bar", "name": _text(rows[0].label), "x": [r.day.isoformat() for r in rows],
             "y": [r.credits for r in rows], "customdata": [float(r.cost_usd) for r in rows],
             "hovertemplate": "%{x|%Y-%m-%d}: %{y:,} credits, %{customdata:$,.4f}"}
            for rows in sorted(ops.values(), key=lambda rows: -sum(r.credits for r in rows))]
    legend = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0, "traceorder": "normal"}
    return {"data": data, "layout": _layout(
        "Credits per day by operation", top=90, barmode="stack", legend=legend,
        xaxis={"type": "date", "tickformat": "%b %d", **GRID}, yaxis=_credits_axis(max(totals.values(), default=0)))}


def _breakdown_figure(groups: list[usage.Group], title: str) -> dict:
    """Horizontal bars, credits beside dollars, one row per label (long names stay readable, nothing overlaps)."""
    labels = [_text(g.label) for g in groups]
    usd = [float(g.cost_usd) for g in groups]
    data = [{"type": "bar", "orientation": "h", "name": "Credits", "y": labels, "x": [g.credits for g in groups],
             "marker": {"color": CREDITS_COLOUR}, "hovertemplate": "%{y}: %{x:,} credits<extra></extra>"},
            {"type": "bar", "orientation": "h", "name": "USD", "y": labels, "x": usd, "xaxis": "x2",
             "marker": {"color": USD_COLOUR}, "hovertemplate": "%{y}: %{x:$,.4f}<extra></extra>"}]
    return {"data": data, "layout": _layout(
        title, showlegend=False, height=150 + 34 * len(groups),
        yaxis={"automargin": True, "autorange": "reversed", "type": "category", "ticklabelstandoff": 6},
        xaxis=_credits_axis(max((g.credits for g in groups), default=0), domain=[0, 0.44]),
        xaxis2=_usd_axis(max(usd, default=0), domain=[0.56, 1], anchor="y"))}


def _balance_figure(points: list[usage.BalancePoint]) -> dict:
    values = [p.balance for p in points]
    return {"data": [{"type": "scatter", "mode": "lines+markers", "line": {"shape": "hv"},
                      "x": [p.day.isoformat() for p in points], "y": values,
                      "hovertemplate": "%{x|%Y-%m-%d}: %{y:,} credits<extra></extra>"}],
            "layout": _layout("Balance over time", showlegend=False,
                              xaxis={"type": "date", "tickformat": "%b %d", **GRID},
                              yaxis=_credits_axis(max(values, default=0)))}


if t.calls == 0:
    st.info("No AI usage in this range.")
else:
    st.plotly_chart(_per_day_figure(rep.per_day), key="usage_per_day", theme=None)
    a, b = st.columns(2)
    # One breakdown at a time: each plotly chart costs the browser more than the whole report costs the server.
    by = a.segmented_control("Credits and USD by", list(BREAKDOWNS), default="site", key="usage_by") or "site"
    a.plotly_chart(_breakdown_figure(getattr(rep, BREAKDOWNS[by]), f"Credits and USD by {by}"), key="usage_breakdown",
                   theme=None)
    if rep.balance_over_time:
        b.plotly_chart(_balance_figure(rep.balance_over_time), key="usage_balance", theme=None)

    st.subheader("Most expensive work")
    ui.table(({"What": c.object_type.capitalize(), "Id": c.object_id, "Title": c.title, "Credits": c.credits,
               "USD": f"{c.cost_usd:.4f}", "Calls": c.calls} for c in rep.costliest),
             empty="No usage is linked to tasks, content or clusters in this range.", key="usage_costliest")

st.subheader("Usage rows")
scope_key = (scope.account_id, sites_key, start.isoformat(), end.isoformat(), tz)


def _shape(rows: list[usage.UsageRow]) -> list[dict]:
    return [{"id": r.id, f"When ({tz})": ui.local_time(r.created_at, tz), "Site": r.site, "User": r.user,
             "Operation": r.operation_label, "Model": r.model_label, "Tokens in": r.tokens_input,
             "Tokens out": r.tokens_output, "Credits": r.credits, "USD": f"{r.cost_usd:.6f}",
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
