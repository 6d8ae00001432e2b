"""Tests of the project: accounts, API keys, authentication, probes, API docs."""
