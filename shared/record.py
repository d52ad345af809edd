"""``@record``: the stdlib ``@dataclass`` for the project's own value classes, at a fraction of its definition cost.

Why: defining a stdlib dataclass compiles every generated method from source, one ``exec`` each (a frozen one:
``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``), about 270 µs per class on
CPython 3.11-3.13, and some 70 of them sit on the functions' import paths: milliseconds of every cold start
(docs/benchmarks.md, #22). ``record`` compiles only ``__init__``, so building an instance costs what it costs with
a dataclass, and gives every class the same shared ``__repr__``, ``__eq__``, ``__hash__``, ordering and frozen
guards, which read the class's field names: about a sixth of the definition time.

Same meaning as ``dataclasses.dataclass`` for what the project uses, and type-checked as one
(``dataclass_transform``): fields are the annotated names in order (``ClassVar`` skipped), with defaults or
``field(default=..., default_factory=..., compare=..., repr=...)``; ``eq`` (default on), ``order``, ``frozen``
(assignment raises ``dataclasses.FrozenInstanceError``); ``__post_init__`` runs after ``__init__``; a frozen,
comparable record hashes by its compared fields, a mutable comparable one is unhashable. Refused when the class is
defined: inheriting from a record or a dataclass, a mutable default (list, dict, set), a field without a default
after one with a default. ``dataclasses.fields()``/``replace()``/``asdict()`` do not apply to records.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from operator import attrgetter
from typing import Any, TypeVar, overload

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover - CPython 3.10
    from typing_extensions import dataclass_transform

__all__ = ["FrozenInstanceError", "field", "record"]

T = TypeVar("T", bound=type)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_FACTORY: Any = type("_HasFactory", (), {"__repr__": lambda self: "<factory>"})()


class Field:
    """What :func:`field` returns: a field's default or factory and whether it takes part in eq/repr."""

    __slots__ = ("compare", "default", "default_factory", "repr")

    def __init__(
        self, default: Any, default_factory: Callable[[], Any] | None, compare: bool, repr: bool
    ) -> None:
        self.default, self.default_factory, self.compare, self.repr = default, default_factory, compare, repr


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | None = None,
    compare: bool = True,
    repr: bool = True,
) -> Any:
    if default is not MISSING and default_factory is not None:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, compare, repr)


@overload
def record(cls: T, /) -> T: ...
@overload
def record(*, frozen: bool = False, order: bool = False, eq: bool = True) -> Callable[[T], T]: ...


@dataclass_transform(field_specifiers=(field, Field))
def record(
    cls: T | None = None, /, *, frozen: bool = False, order: bool = False, eq: bool = True
) -> T | Callable[[T], T]:
    def wrap(cls: T) -> T:
        return _build(cls, frozen=frozen, order=order, eq=eq)

    return wrap if cls is None else wrap(cls)


def _is_classvar(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))


def _build(cls: T, *, frozen: bool, order: bool, eq: bool) -> T:
    for base in cls.__mro__[1:-1]:
        if "__record_fields__" in base.__dict__ or "__dataclass_fields__" in base.__dict__:
            raise TypeError(f"{cls.__qualname__}: a record cannot inherit from {base.__qualname__}")
    if order and not eq:
        raise ValueError("eq must be true if order is true")
    names: list[str] = []
    compared: list[str] = []
    shown: list[str] = []
    params: list[str] = []
    body: list[str] = []
    scope: dict[str, Any] = {"__set": object.__setattr__, "__FACTORY": _FACTORY}
    for name, annotation in inspect.get_annotations(cls).items():
        if _is_classvar(annotation):
            continue
        if name == "self" or name.startswith("__"):
            raise TypeError(f"{cls.__qualname__}: field name {name!r} is not allowed")
        spec = cls.__dict__.get(name, MISSING)
        if not isinstance(spec, Field):
            spec = Field(spec, None, True, True)
        if isinstance(spec.default, (list, dict, set)):
            raise ValueError(f"{cls.__qualname__}.{name}: mutable default, use default_factory")
        value = name
        if spec.default_factory is not None:
            scope[f"__factory_{name}"] = spec.default_factory
            params.append(f"{name}=__FACTORY")
            value = f"__factory_{name}() if {name} is __FACTORY else {name}"
            if name in cls.__dict__:
                delattr(cls, name)  # like a dataclass: no class attribute for a factory field
        elif spec.default is not MISSING:
            scope[f"__default_{name}"] = spec.default
            params.append(f"{name}=__default_{name}")
            setattr(cls, name, spec.default)  # like a dataclass: the class attribute is the default
        elif params and "=" in params[-1]:
            raise TypeError(f"{cls.__qualname__}: non-default field {name!r} follows a field with a default")
        else:
            params.append(name)
        body.append(f"  __set(self, {name!r}, {value})" if frozen else f"  self.{name} = {value}")
        names.append(name)
        if spec.compare:
            compared.append(name)
        if spec.repr:
            shown.append(name)
    if "__post_init__" in cls.__dict__:
        body.append("  self.__post_init__()")
    source = (
        f"def __init__(self{''.join(', ' + p for p in params)}):\n" + ("\n".join(body) or "  pass") + "\n"
    )
    exec(source, scope)  # noqa: S102  only field names (identifiers from the class body) reach the source
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__

    methods: dict[str, Any] = {
        "__init__": init,
        "__record_fields__": tuple(names),
        "__record_repr__": tuple(shown),
        "__record_key__": _key_getter(compared),
        "__match_args__": tuple(names),
    }
    if "__repr__" not in cls.__dict__:
        methods["__repr__"] = _repr
    if eq and "__eq__" not in cls.__dict__:
        methods["__eq__"] = _eq
    # Python sets __hash__ = None in a class body that defines __eq__: that is not an explicit __hash__.
    own_hash = cls.__dict__.get("__hash__", MISSING)
    explicit_hash = own_hash is not MISSING and not (own_hash is None and "__eq__" in cls.__dict__)
    if eq and not explicit_hash:
        methods["__hash__"] = _hash if frozen else None
    if order:
        for method_name, method in (("__lt__", _lt), ("__le__", _le), ("__gt__", _gt), ("__ge__", _ge)):
            if method_name in cls.__dict__:
                raise TypeError(f"{cls.__qualname__}: order=True and {method_name} defined")
            methods[method_name] = method
    if frozen:
        methods["__setattr__"], methods["__delattr__"] = _frozen_setattr, _frozen_delattr
    for attribute, value in methods.items():
        setattr(cls, attribute, value)
    return cls


def _key_getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The compared fields of an instance as a tuple (what a dataclass compares and hashes)."""
    if len(names) > 1:
        return attrgetter(*names)  # a C callable, and not a descriptor: safe as a class attribute
    if names:
        single = attrgetter(names[0])
        return staticmethod(lambda obj: (single(obj),))  # type: ignore[return-value]
    return staticmethod(lambda obj: ())  # type: ignore[return-value]


def _repr(self: Any) -> str:
    fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__record_repr__)
    return f"{type(self).__qualname__}({fields})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    key = self.__record_key__
    return key(self) == key(other)


def _hash(self: Any) -> int:
    return hash(self.__record_key__(self))


def _lt(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return self.__record_key__(self) < self.__record_key__(other)


def _le(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return self.__record_key__(self) <= self.__record_key__(other)


def _gt(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return self.__record_key__(self) > self.__record_key__(other)


def _ge(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return self.__record_key__(self) >= self.__record_key__(other)


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")
