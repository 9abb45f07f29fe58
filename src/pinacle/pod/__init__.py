"""One pod, pure: its names, the resources it should have, what the host shows of it, the diff.

Nothing here imports pyinfra: every decision a rollout makes is a plain function of a pod file,
the target's settings and what facts observed, tested with plain asserts.
"""
