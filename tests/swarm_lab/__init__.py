"""A test lab for Rivetr's Docker Swarm support: a real multi-node swarm on one machine (the
host's engine as manager, containers running their own dockerd as workers) and a real registry
both can pull from. Typical use, in a fixture::

    with Registry() as registry, Lab(docker.from_env(), workers=2) as lab:
        lab.share_loopback(registry.port)  # workers pull 127.0.0.1:PORT/... as the host does
        lab.init_swarm()                   # or lab.join(worker, token, lab.gateway) for Rivetr's
        ...

Everything is named `rivetr-lab...`: a lab's start removes what a killed run left behind, and
its end leaves the host engine out of swarm mode.
"""

from tests.swarm_lab.lab import ExecResult, Lab
from tests.swarm_lab.network import DEFAULT_SUBNET, PREFIX, LabError
from tests.swarm_lab.registry import Registry, RegistryError, bcrypt_hash
from tests.swarm_lab.swarm import HostSwarm, TaskEndpoint, host_swarm, node_states, task_endpoints
from tests.swarm_lab.worker_image import ensure_worker_image, worker_image_tag

__all__ = [
    "DEFAULT_SUBNET",
    "PREFIX",
    "ExecResult",
    "HostSwarm",
    "Lab",
    "LabError",
    "Registry",
    "RegistryError",
    "TaskEndpoint",
    "bcrypt_hash",
    "ensure_worker_image",
    "host_swarm",
    "node_states",
    "task_endpoints",
    "worker_image_tag",
]
