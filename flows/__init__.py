"""Prefect flows: orchestration only; the work is in tasks/ and the logic in videobot/."""
