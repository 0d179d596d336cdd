"""Tests of core.billing."""
