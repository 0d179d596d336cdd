"""Tests of core.identity."""
