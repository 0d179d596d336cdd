"""Automation runs: per-site config, the run engine stage by stage, and its scheduler jobs."""
