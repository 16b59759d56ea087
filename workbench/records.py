"""Plain data classes: the ``repr`` and ``==`` of records, as dataclasses would give them.

Every command loads the model, the config, the set list and the restore plan, and creating their
classes with ``dataclasses`` (which loads ``inspect``, ``ast`` and ``dis`` and compiles each
class's methods at import) took about a sixth of a one-message restore. A record class here lists
its fields in ``_fields`` and writes its own ``__init__``; ``repr``, ``==`` (and for frozen ones
``hash`` and the refusal to change a field) come from these bases. Fields left out of
``_compare`` (or ``_repr``) do not count for ``==`` (or do not show).
"""


class Record:
    """A mutable record: ``repr`` and ``==`` over its fields; unhashable, as a dataclass is."""

    __slots__ = ()
    _fields = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for attr in ("_compare", "_repr"):
            if attr not in cls.__dict__:
                setattr(cls, attr, cls._fields)

    def __repr__(self):
        return (f"{type(self).__qualname__}("
                + ", ".join(f"{name}={getattr(self, name)!r}" for name in self._repr) + ")")

    def _key(self):
        return tuple(getattr(self, name) for name in self._compare)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None


class FrozenRecord(Record):
    """An immutable record (its ``__init__`` sets the fields through ``self.__dict__``):
    hashable, and its fields cannot be assigned."""

    __slots__ = ()

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete field {name!r}")

    def __hash__(self):
        return hash(self._key())
