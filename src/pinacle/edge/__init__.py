"""The host's edge: pinacle's own nginx instance in front of every pod, credential-checked."""
