"""Tests of the parts app."""
