"""Overrides: a swept key path (``projections.syn.A_plus``) applied to a :class:`~bioplaus.spec.network.NetworkSpec`."""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from ..errors import ConfigError, did_you_mean

__all__ = ["apply_spec_overrides"]


def _replace_path(obj: Any, parts: list[str], value: Any, key: str) -> Any:
    from ..spec.network import Population, Projection

    if not dataclasses.is_dataclass(obj):
        raise ConfigError(key, value, "a path to a field of the network spec")
    names = {f.name for f in dataclasses.fields(obj)}
    head, rest = parts[0], parts[1:]
    if head not in names:
        # shortcuts, named like BuiltNetwork.params: populations.<p>.<field of its model>,
        # projections.<p>.<field of its rule or homeostasis>
        inner = []
        if isinstance(obj, Population):
            inner = ["model"]
        elif isinstance(obj, Projection):
            inner = ["rule", "homeostasis"]
        for attr in inner:
            sub = getattr(obj, attr)
            if sub is not None and dataclasses.is_dataclass(sub) and head in {f.name for f in dataclasses.fields(sub)}:
                return _replace_path(obj, [attr, *parts], value, key)
        options = sorted(names | {f.name for a in inner if dataclasses.is_dataclass(getattr(obj, a, None))
                                  for f in dataclasses.fields(getattr(obj, a))})
        raise ConfigError(key, value, f"a field of {type(obj).__name__}: " + ", ".join(options)
                          + did_you_mean(head, options))
    if not rest:
        new = value
    else:
        new = _replace_path(getattr(obj, head), rest, value, key)
    try:
        return dataclasses.replace(obj, **{head: new})
    except ConfigError as exc:
        raise ConfigError(key, value, exc.expected) from None
    except TypeError as exc:
        raise ConfigError(key, value, f"a valid value ({exc})") from None


def apply_spec_overrides(spec, values: Mapping[str, Any]):
    """Return ``spec`` with each ``key path -> value`` applied (validated by the spec objects).

    Key paths: ``populations.<name>.<field>`` (``size``, or a field of its neuron
    model such as ``tau_e``), ``projections.<name>.<field>`` (``w_init``,
    ``connectivity``, ``weight_scale``... or a field of its rule such as ``A_plus``),
    ``modulators.<name>.<field>``, ``network.<field>`` (``duration``, ``dt``,
    ``seed``). The longer forms ``populations.<name>.model.<field>`` and
    ``projections.<name>.rule.<field>`` work too.
    """
    for key, value in values.items():
        parts = str(key).split(".")
        head = parts[0]
        if head == "network" and len(parts) == 2:
            spec = _replace_path(spec, parts[1:], value, key)
            continue
        if head not in ("populations", "projections", "modulators", "monitors") or len(parts) < 3:
            raise ConfigError(key, value, "populations.<name>.<field>, projections.<name>.<field>, "
                              "modulators.<name>.<field> or network.<field>")
        items = list(getattr(spec, head))
        names = [getattr(it, "name", getattr(it, "target", None)) for it in items]
        if parts[1] not in names:
            raise ConfigError(key, value, f"a name of {head}: " + ", ".join(map(str, names))
                              + did_you_mean(parts[1], [str(n) for n in names]))
        k = names.index(parts[1])
        items[k] = _replace_path(items[k], parts[2:], value, key)
        try:
            spec = spec.replace(**{head: tuple(items)})
        except ConfigError as exc:
            raise ConfigError(key, value, f"{exc.expected} ({exc.key_path})") from None
    return spec
