"""Chat: the platform-neutral service and one adapter per platform."""
