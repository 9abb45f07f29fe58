"""Pods across several hosts of one inventory: which host holds a pod."""
