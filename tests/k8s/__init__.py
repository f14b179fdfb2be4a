"""Tests and helpers that need a real Kubernetes API server (marker ``k8s``).

Test modules placed here get the ``control_plane``, ``nec_crd`` and ``namespace``
fixtures from conftest.py and import the helpers relatively, e.g.
``from .objects import create_node``.
"""
