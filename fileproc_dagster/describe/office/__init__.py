"""Office files: Word, Excel, PowerPoint, OpenDocument, RTF and delimited text (CSV/TSV).

One reader module per family (``word``, ``sheets``, ``slides``, ``opendocument``, ``rtf``,
``delimited``); ``package`` holds what they share: the guarded opening of zip packages (bombs,
entity declarations), document properties and the summary line.
"""
