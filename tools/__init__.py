"""What the bot can do in the world: devices, telemetry, alerts, forecasts, actions.

Nothing here knows about chat platforms; everything receives its dependencies
as arguments.
"""
