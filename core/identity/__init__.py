"""Accounts, users, login and sessions, sites and sectors."""
