"""Tests of core.demo."""
