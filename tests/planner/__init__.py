"""Tests of core.planner."""
