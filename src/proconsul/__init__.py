"""proconsul: a Consul-compatible service registry, registrator and template renderer."""

__version__ = "0.1.0"
# The Consul release whose HTTP API and CLI this build follows; reported where clients read a Consul version.
CONSUL_COMPAT_VERSION = "1.22.0"

__all__ = ["CONSUL_COMPAT_VERSION", "__version__"]
