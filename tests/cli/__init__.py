"""Tests of core.cli."""
