"""tuner: recommends per-node min/max warm targets from pod churn history (``eni-tuner``)."""
