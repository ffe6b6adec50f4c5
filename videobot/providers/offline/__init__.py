"""Providers that need no key and no network, and still make real media."""
