"""Starting, resuming and cancelling `make-video` runs: the one client the bot and the CLI use."""
