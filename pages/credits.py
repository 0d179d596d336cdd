"""Owners and admins: the account's credit balance, its ledger (newest first, page by page), and adding credits."""
import streamlit as st

import ui
from core import credits

PAGE = 50
CURSOR = "ledger_cursor"  # session state: the before-ids of the pages above the one shown (keyset paging)
KINDS = {"purchase": "Purchase", "subscription": "Subscription", "refund": "Refund",
         "adjustment": "Adjustment (may be negative)"}

ctx = ui.current("Credits", admin=True)
actor = ctx.actor
tz = ctx.scope.timezone
if actor.account_id is None:
    st.info("Pick an account in the sidebar first.")
    st.stop()

cursor: list[int] = st.session_state.get(CURSOR, [])
before = cursor[-1] if cursor else None
loaded = ui.run_action(lambda s: (credits.balance(s, actor),
                                  credits.list_ledger(s, actor, limit=PAGE, before_id=before)))
if loaded is None:
    st.stop()
balance, ledger = loaded
st.metric("Balance", f"{balance:,} credits")


def _grant(s, amount: int, kind: str, reason: str):
    tx = credits.grant(s, actor, amount=amount, kind=kind, reason=reason)
    st.cache_data.clear()  # the usage screen's cached numbers show the balance
    return tx


with st.expander("Add credits"), st.form("credits_grant"):
    kind = st.selectbox("Kind", list(KINDS), format_func=KINDS.__getitem__, key="grant_kind")
    amount = st.number_input("Credits", value=0, step=100, min_value=-credits.MAX_AMOUNT,
                             max_value=credits.MAX_AMOUNT, key="grant_amount")
    reason = st.text_input("Reason", key="grant_reason", help="Goes into the ledger, e.g. the invoice number.")
    if st.form_submit_button("Add credits", key="grant_submit", type="primary"):
        ui.run_action(lambda s: _grant(s, int(amount), kind, reason),
                      success=f"{int(amount):+,} credits ({kind}) added to the ledger.", clear=("grant_reason",))

st.subheader("Ledger")
ui.table(({"Id": tx.id, f"When ({tz})": ui.local_time(tx.created_at, tz), "Kind": tx.transaction_type.value,
           "Amount": f"{tx.amount:+,}", "Balance after": f"{tx.balance_after:,}", "Description": tx.description}
          for tx in ledger), empty="No ledger entries here.", key="credits_ledger")


def _newer() -> None:
    st.session_state[CURSOR] = cursor[:-1]


def _older() -> None:
    st.session_state[CURSOR] = [*cursor, ledger[-1].id]


newer, older, _ = st.columns([1, 1, 4])
newer.button("← Newer", key="ledger_newer", on_click=_newer, disabled=not cursor)
older.button("Older →", key="ledger_older", on_click=_older, disabled=len(ledger) < PAGE)
st.caption(f"Page {len(cursor) + 1} · {PAGE} entries per page")
