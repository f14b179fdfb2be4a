"""The one adapter between our programs and Kubernetes (as kopf keeps its clients in
``_cogs/clients/``), shared by ``eni-exporter`` and ``eni-tuner``:

- :mod:`kube_adapter.client`   an API client from --kubeconfig / --context / in-cluster
- :mod:`kube_adapter.errors`   the client's errors mapped into :mod:`pool_engine.errors`
- :mod:`kube_adapter.nec`      NEC group/version/kind, annotations <-> targets, get/patch/list
- :mod:`kube_adapter.names`    the names the API server takes (objects, namespaces)
- :mod:`kube_adapter.events`   Events on NEC objects
- :mod:`kube_adapter.watcher`  list+watch of one resource
- :mod:`kube_adapter.lease`    leader election through a Lease
- :mod:`kube_adapter.logs`     logging setup of both programs

Only this package imports ``kubernetes`` (a ``lint-imports`` contract), and only
inside functions: importing it, or a program's command line, does not load the client.
It imports neither program.
"""
