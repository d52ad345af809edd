"""shared.record: behaves like the stdlib dataclass for everything the project uses, side by side."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.record import FrozenInstanceError, field, record


def pair(frozen: bool = False, order: bool = False, eq: bool = True) -> tuple[Any, Any]:
    """The same class body as a stdlib dataclass and as a record."""

    def body() -> type:
        class Item:
            """An item."""

            LIMIT: ClassVar[int] = 3
            name: str
            size: int = 0
            tags: tuple[str, ...] = ()
            extra: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)

            def label(self) -> str:
                return f"{self.name}:{self.size}"

        return Item

    def body_record() -> type:
        class Item:
            """An item."""

            LIMIT: ClassVar[int] = 3
            name: str
            size: int = 0
            tags: tuple[str, ...] = ()
            extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

            def label(self) -> str:
                return f"{self.name}:{self.size}"

        return Item

    return (
        dataclasses.dataclass(frozen=frozen, order=order, eq=eq)(body()),
        record(frozen=frozen, order=order, eq=eq)(body_record()),
    )


values = st.tuples(
    st.sampled_from(["a", "b", ""]), st.integers(-2, 2), st.sampled_from([(), ("x",), ("x", "y")])
)


@given(values, values)
def test_eq_hash_order_and_repr_match_the_stdlib_dataclass(a: tuple, b: tuple) -> None:
    for frozen in (False, True):
        for order in (False, True):
            dc, rec = pair(frozen=frozen, order=order)
            d1, d2, r1, r2 = dc(*a), dc(*b), rec(*a), rec(*b)
            assert (r1 == r2) == (d1 == d2)
            assert (r1 != r2) == (d1 != d2)
            assert repr(r1).endswith(repr(d1).rpartition(".")[2])  # same text after the (local) qualname
            assert repr(r1).rpartition(".")[2].startswith("Item(name=")
            if frozen:
                assert hash(r1) == hash(d1)  # both hash the tuple of compared fields
            else:
                with pytest.raises(TypeError):
                    hash(r1)
            if order:
                assert (r1 < r2, r1 <= r2, r1 > r2, r1 >= r2) == (d1 < d2, d1 <= d2, d1 > d2, d1 >= d2)
            else:
                with pytest.raises(TypeError):
                    _ = r1 < r2


def test_defaults_factories_keywords_and_class_attributes() -> None:
    dc, rec = pair()
    r = rec("n", tags=("t",))
    assert (r.name, r.size, r.tags, r.extra) == ("n", 0, ("t",), {})
    assert rec("n").extra is not rec("n").extra  # one fresh value per instance
    assert rec.size == dc.size == 0 and rec.LIMIT == 3
    assert "extra" not in rec.__dict__ and "extra" not in dc.__dict__
    assert rec.__match_args__ == dc.__match_args__ == ("name", "size", "tags", "extra")
    assert r.label() == "n:0"
    assert rec("n", extra={"a": 1}) == rec("n")  # compare=False
    with pytest.raises(TypeError):
        rec()  # name is required
    with pytest.raises(TypeError):
        rec("n", nope=1)
    with pytest.raises(TypeError):
        rec("n", 1, (), {}, "too many")


def test_frozen_refuses_assignment_and_deletion_like_a_dataclass() -> None:
    _, rec = pair(frozen=True)
    r = rec("n")
    with pytest.raises(FrozenInstanceError):
        r.name = "m"
    with pytest.raises(FrozenInstanceError):
        del r.size
    with pytest.raises(AttributeError):  # FrozenInstanceError is an AttributeError
        r.other = 1
    assert r.name == "n"


def test_mutable_records_assign_and_are_not_equal_to_other_types() -> None:
    _, rec = pair()
    r = rec("n")
    r.size = 5
    assert r.size == 5
    assert r != ("n", 5, (), {}) and r != object()


def test_post_init_runs_and_can_refuse() -> None:
    @record(frozen=True)
    class Checked:
        value: int
        double: int = 0

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")
            object.__setattr__(self, "double", self.value * 2)

    assert Checked(2).double == 4
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)


def test_explicit_methods_are_kept() -> None:
    @record(frozen=True)
    class Custom:
        a: int

        def __repr__(self) -> str:
            return "custom"

        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return 7

    assert repr(Custom(1)) == "custom" and Custom(1) == Custom(2) and hash(Custom(1)) == 7


def test_definition_errors_are_refused_like_a_dataclass() -> None:
    with pytest.raises(TypeError, match="follows"):

        @record
        class Bad:
            a: int = 0
            b: int

    with pytest.raises(ValueError, match="mutable default"):

        @record
        class Mutable:
            a: list[int] = []

    @record
    class Base:
        a: int

    with pytest.raises(TypeError, match="inherit"):

        @record
        class Child(Base):
            b: int = 0

    with pytest.raises(ValueError):
        field(default=1, default_factory=list)


def test_records_pickle_and_copy() -> None:
    import copy

    r = Pickled("n", 2)
    assert pickle.loads(pickle.dumps(r)) == r
    assert copy.copy(r) == r and copy.deepcopy(r) == r


@record(frozen=True)
class Pickled:
    name: str
    size: int = 0


def test_defining_a_record_compiles_one_method_not_six() -> None:
    """The reason it exists: a record's definition compiles ``__init__`` only (counted, not timed)."""
    compiled: list[str] = []
    real_exec = exec

    def counting_exec(source: Any, *args: Any) -> Any:
        compiled.append(str(source))
        return real_exec(source, *args)

    import builtins

    builtins.exec = counting_exec  # type: ignore[assignment]
    try:
        pair(frozen=True, order=True)
    finally:
        builtins.exec = real_exec
    record_sources = [s for s in compiled if "def __init__(self, name" in s and "__FACTORY" in s]
    assert len(record_sources) == 1 and record_sources[0].count("def ") == 1
    dataclass_sources = [s for s in compiled if s not in record_sources]
    # the dataclass: one function per generated method (one exec each up to 3.12, one exec for all on 3.13)
    assert sum(s.count("def ") for s in dataclass_sources) >= 6
