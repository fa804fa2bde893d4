"""Protocol-true device simulators: the same wire formats as the real devices, on loopback."""
