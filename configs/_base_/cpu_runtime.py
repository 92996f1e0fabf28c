# Runtime of the CPU settings (built-in dataset, icon themes, Widelands):
# ./default_runtime.py with the log written every 10 iterations, their runs
# being short.
_base_ = ['./default_runtime.py']

default_hooks = dict(logger=dict(interval=10))
