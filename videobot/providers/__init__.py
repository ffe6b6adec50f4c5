"""Providers, one Protocol per capability, and their implementations."""
