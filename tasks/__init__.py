"""Prefect tasks: each does one I/O step, carries its own retries and is safe to replay."""
