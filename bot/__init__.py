"""The front door: chat adapters, chat service, scheduler jobs, CLI and composition root."""
