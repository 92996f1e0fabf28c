from .atomic_local_backend import ATOMIC_LOCAL, AtomicLocalBackend, atomic_open

__all__ = ['ATOMIC_LOCAL', 'AtomicLocalBackend', 'atomic_open']
