"""Provision a gVisor pod host: ``pyinfra inventory/dev.py deploys/vm.py``."""

from pinacle.deploys.host import provision_host

provision_host()
