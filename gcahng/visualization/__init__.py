"""Visualisation components (none of our own yet)."""
