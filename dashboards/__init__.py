"""Grafana dashboards for eni-pool, built as code with grafana-foundation-sdk.

``python -m dashboards.build`` writes ``dashboards/*.json``; ``--check`` fails when
the committed JSON differs from what the code builds. Rules live in ``rules/``.
"""
