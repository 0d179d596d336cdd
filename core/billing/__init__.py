"""Credits: the ledger, the price table, usage reports."""
