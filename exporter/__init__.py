"""exporter: publishes per-node pool metrics and drives the pool engine (``eni-exporter``)."""
