"""The `videobot` command and the processes it supervises (`videobot up`)."""
