"""Deployments of the flows, served from one process."""
