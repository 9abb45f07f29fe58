"""The Lima VM ``gvisor-alpine`` (``$PINACLE_LIMA_INSTANCE`` overrides the name).

    limactl start lima/gvisor-alpine.yaml      # once; add --vm-type=qemu on a Linux host
    pyinfra inventory/dev.py deploys/vm.py

pyinfra reaches the VM over SSH through the config file Lima rewrites at every start; see
``pinacle.lima`` for how it is found and what the host data is.
"""

from pyinfra.api.exceptions import InventoryError

from pinacle.errors import TargetError
from pinacle.lima import lima_inventory_hosts

try:
    lima = lima_inventory_hosts()
except TargetError as error:  # one clear line from the pyinfra CLI instead of a traceback
    raise InventoryError(str(error)) from error
