"""Readers of web and data formats: HTML/XHTML, Markdown, EPUB, JSON, YAML, XML and SVG.

Each module is one family; all of them are plain functions of a path, free of Dagster, and
none of them fetches anything: external entities, DTDs and linked resources are never read.
"""
