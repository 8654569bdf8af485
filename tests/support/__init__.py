"""Test machinery shared by several test modules (servers on loopback)."""
