"""Pods rendered for other platforms than a pinacle pod host (``pinacle export``)."""
