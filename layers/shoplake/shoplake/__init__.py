"""shoplake's shared code, shipped to every function as the `SharedLayer` Lambda layer."""
