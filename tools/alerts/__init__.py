"""Alert rules (pure functions) and the engine that turns their verdicts into lifecycles."""
