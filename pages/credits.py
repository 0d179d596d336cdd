"""Owners and admins: the account's credit balance and its ledger (newest first, page by page). Platform admins also
add credits: developers to the account picked in the sidebar, the system account's owners and admins to the account
they choose in the form."""
import streamlit as st

import ui
from core.billing import credits

PAGE = 50
CURSOR = "ledger_cursor"  # session state: the before-ids of the pages above the one shown (keyset paging)
KINDS = {"purchase": "Purchase", "subscription": "Subscription", "refund": "Refund",
         "adjustment": "Adjustment (may be negative)"}

ctx = ui.current("Credits", admin=True)
actor = ctx.actor
tz = ctx.scope.timezone
if actor.account_id is None:
    st.info(ui.md(ui.missing_scope(ctx, sector=False)))  # a developer before any account exists
    st.stop()

cursor: list[int] = st.session_state.get(CURSOR, [])
before = cursor[-1] if cursor else None
loaded = ui.run_action(lambda s: (credits.balance(s, actor),
                                  credits.list_ledger(s, actor, limit=PAGE, before_id=before)))
if loaded is None:
    st.stop()
balance, ledger = loaded
st.metric("Balance", f"{balance:,} credits")


def _grant(s, account_id: int | None, amount: int, kind: str, reason: str):
    tx = credits.grant(s, actor, account_id=account_id, amount=amount, kind=kind, reason=reason)
    st.cache_data.clear()  # the usage screen's cached numbers show the balance
    return tx


def _grant_form(targets: dict[int, str] | None) -> None:
    """Developers top up the account picked in the sidebar (`targets` None); the system account's owners and
    admins choose one of `targets` here."""
    with st.expander("Add credits"), st.form("credits_grant"):
        if targets is None:
            target, name = None, ctx.scope.accounts[actor.account_id]
            st.caption(f"To “{ui.md(name)}”, the account picked in the sidebar.")
        else:
            picks = list(targets)
            target = st.selectbox("Account", picks, index=ui.index_of(picks, actor.account_id),
                                  format_func=targets.__getitem__, key="grant_account",
                                  help="The account whose ledger gets the credits.")
            name = targets[target]
        kind = st.selectbox("Kind", list(KINDS), format_func=KINDS.__getitem__, key="grant_kind")
        amount = st.number_input("Credits", value=0, step=100, key="grant_amount",  # no min/max: core says why
                                 help=f"At most {credits.MAX_AMOUNT:,} either way.")
        reason = st.text_input("Reason", key="grant_reason", help="Goes into the ledger, e.g. the invoice number.")
        if st.form_submit_button("Add credits", key="grant_submit", type="primary"):
            ui.run_action(lambda s: _grant(s, target, int(amount), kind, reason), clear=("grant_reason",),
                          success=f"{int(amount):+,} credits ({kind}) added to the ledger of “{name}”.")


if not actor.is_platform_admin:  # customers pay for credits: they read the ledger only
    st.caption(credits.GRANT_REFUSED)
elif actor.is_developer:
    _grant_form(None)
else:
    choices = ui.run_action(lambda s: credits.grant_targets(s, actor))
    if choices:
        _grant_form(choices)

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
