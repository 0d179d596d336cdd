"""Tests of core.common."""
