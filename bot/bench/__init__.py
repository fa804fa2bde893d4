"""Benchmarks and load generators (``commandcenter bench ...``); nothing here runs in the bot.

- :mod:`bot.bench.ingest`: readings per second through the pipeline and raw COPY;
  alert-card latency through the whole bot.
- :mod:`bot.bench.fleet`: simulated Victron sites through the broker into worker
  processes (:mod:`bot.bench.fleet_worker`), fed by :mod:`bot.bench.fleet_publisher`.
- :mod:`bot.bench.chat`, :mod:`bot.bench.context`: the Slack path and prompt budgets.
"""
