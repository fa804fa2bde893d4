"""Reports: energy analytics over stored history, digests (cards with a chart) and PDF reports."""
