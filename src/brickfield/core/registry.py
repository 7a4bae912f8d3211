"""Registry of domains so generic layers (bench, train, cli) can look one up by name."""

from __future__ import annotations

import importlib

from brickfield.core.contract import Domain

_DOMAINS: dict[str, Domain] = {}
# Domains that register themselves on import; imported lazily so `core` never imports a domain.
_BUILTIN = {"lego": "brickfield.lego.domain", "machines": "brickfield.machines.domain"}


def register_domain(domain: Domain) -> None:
    """Register a domain object under its `name` (replacing an earlier one of the same name)."""
    _DOMAINS[domain.name] = domain


def get_domain(name: str) -> Domain:
    """Return the domain called `name`, importing a built-in one on first use."""
    if name not in _DOMAINS and name in _BUILTIN:
        importlib.import_module(_BUILTIN[name])
    try:
        return _DOMAINS[name]
    except KeyError:
        raise KeyError(f"unknown domain {name!r}; known: {sorted(set(_DOMAINS) | set(_BUILTIN))}") from None


def domain_modules() -> list[str]:
    """Modules that define the registered domains: worker processes import them so that plugin
    domains registered in the parent exist there too."""
    return sorted({type(d).__module__ for d in _DOMAINS.values()} | set(_BUILTIN.values()))


def list_domains() -> list[str]:
    """Names of the registered and built-in domains, sorted."""
    return sorted(set(_DOMAINS) | set(_BUILTIN))
