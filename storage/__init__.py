"""The database: tables, engine and sessions, repositories, migrations.

Storage imports nothing from the layers above it.
"""
