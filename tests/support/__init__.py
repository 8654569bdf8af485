"""Test machinery kept out of the product: sample generators, fault injection and the code
location that wires it in."""
