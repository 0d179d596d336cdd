"""Tests of core.publishing."""
