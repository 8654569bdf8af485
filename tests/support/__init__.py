"""Test machinery kept out of the product: sample generators, fault injection and the code
location that wires it in, local PostgreSQL, S3, SMTP and webhook servers."""
