"""The first import of every function entry point: keep what the dependencies import but a call never uses off
the cold path.

Two measured costs of the decided stack (``make bench``, importtime; docs/benchmarks.md) that no function uses:

- stdlib modules imported at load but only used inside functions we never call: ``asyncio`` (structlog.stdlib,
  for its async logger methods; with it ``concurrent.futures``, ``subprocess``, ``selectors``), ``ssl``
  (``http.client`` and ``urllib.request``; needed by the first ``https`` request, never by ``http``),
  ``importlib.metadata`` (pydantic's plugin loader) and ``secrets`` (pydantic's ``SecretStr`` comparison).
  Each becomes a :class:`DeferredModule` in ``sys.modules``: ``import x`` binds it, and the first attribute
  read loads the real module in its place. A module already imported stays as it is.
- pydantic's plugin discovery (every ``*.dist-info`` on ``sys.path`` read at the first model build):
  ``PYDANTIC_DISABLE_PLUGINS`` defaults to ``__all__`` (swr-sync ships no plugin); a value set by the operator
  wins (an empty value turns discovery back on).

Import it before anything else (``import shared.boot``); it imports only the standard library and is idempotent.
A deferred module that something does use is loaded then, at the cost it would have had at import: never wrong,
at worst no faster.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import types
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

# module -> functions some dependency binds with ``from module import name`` at load (a stand-in each, which
# loads the module when called) instead of only ``import module``.
DEFERRED: dict[str, tuple[str, ...]] = {
    "asyncio": (),
    "ssl": (),
    "importlib.metadata": ("entry_points",),
    "secrets": (),
}
PLUGINS_ENV = "PYDANTIC_DISABLE_PLUGINS"


class DeferredModule(types.ModuleType):
    """A stand-in for a module not loaded yet: the first attribute it does not have loads the real module,
    which replaces it in ``sys.modules`` and lends it its namespace (so references bound earlier keep working).
    """

    def __init__(self, name: str, search_locations: list[str] | None, functions: tuple[str, ...]) -> None:
        super().__init__(name)
        # ``import x`` reads ``x.__spec__._initializing``, and ``from x import y`` reads ``x.__path__`` (for a
        # package): both answered here, without loading.
        self.__spec__ = ModuleSpec(name, None, is_package=search_locations is not None)
        if search_locations is not None:
            self.__path__ = list(search_locations)
        self.__dict__["_deferred_lock"] = threading.RLock()
        for function in functions:
            self.__dict__[function] = self._stand_in(function)

    def _stand_in(self, function: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            return getattr(self.load(), function)(*args, **kwargs)

        call.__name__ = call.__qualname__ = function
        return call

    def load(self) -> types.ModuleType:
        """Import the real module (once) and copy its namespace here."""
        with self.__dict__["_deferred_lock"]:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = importlib.import_module(self.__name__)
            if self.__dict__.get("_deferred_real") is not real:
                self.__dict__.update(real.__dict__)
                self.__dict__["_deferred_real"] = real
            return real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.load(), name)

    def __bool__(self) -> bool:
        # False until loaded: code that asks ``sys.modules.get(name)`` whether a module is in use gets the answer
        # it would get without the stand-in. logging does, for every LogRecord on 3.12+ (task names: asyncio),
        # and structlog.stdlib makes one at import: without this, asyncio (and ssl) would load there.
        return "_deferred_real" in self.__dict__


class _Loaded:
    """Loader of a module that already exists: what :class:`SubmoduleFinder` hands the import system."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec: ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__ = self.spec  # the import system set ours; the module keeps its own


class SubmoduleFinder:
    """``import pkg.sub`` while ``pkg`` is deferred: load ``pkg`` first (its ``__init__`` runs before its
    submodules, as without deferral) and hand back ``pkg.sub`` if that imported it, instead of a second copy."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        package = sys.modules.get(name.rpartition(".")[0])
        if not isinstance(package, DeferredModule):
            return None
        package.load()
        module = sys.modules.get(name)
        if module is None:
            return None  # not imported by the package itself: the normal finders import it
        # a loader by protocol (create_module, exec_module): importlib.abc would import importlib.resources
        return ModuleSpec(name, cast("Loader", _Loaded(module)))


def defer(name: str, functions: tuple[str, ...] = ()) -> bool:
    """Put a :class:`DeferredModule` for ``name`` in ``sys.modules``; False if it is already imported, or
    does not exist here."""
    if name in sys.modules:
        return False
    try:
        spec = find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    module = DeferredModule(name, spec.submodule_search_locations, functions)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:  # ``import importlib.metadata`` then ``importlib.metadata.x``: the import system sets this too
        setattr(sys.modules[parent], child, module)
    if not any(isinstance(finder, SubmoduleFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, SubmoduleFinder())
    return True


def prepare() -> None:
    os.environ.setdefault(PLUGINS_ENV, "__all__")
    for name, functions in DEFERRED.items():
        defer(name, functions)


def deferred() -> list[str]:
    """The modules still deferred (never used so far in this process)."""
    return sorted(name for name, module in sys.modules.items() if isinstance(module, DeferredModule))


prepare()
