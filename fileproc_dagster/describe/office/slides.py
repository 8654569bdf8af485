"""PowerPoint .pptx files: each slide's title, text, tables and speaker notes (python-pptx).

Example::

    from fileproc_dagster.describe.office.slides import describe_pptx

    result = describe_pptx(Path("deck.pptx"), PPTX_MIME, ExtractOptions())
    result.details["slides"]  # 12
    result.markdown  # '<!-- slide 1 -->\\n\\n# Quarterly review\\n\\n...### Notes\\n\\n...'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fileproc_dagster.describe.model import Description, ExtractOptions, Table
from fileproc_dagster.describe.office.package import (
    markdown_table,
    ooxml_properties,
    open_package,
    summarise,
    table_text,
)
from fileproc_dagster.errors import BadInput

LABEL = "PowerPoint presentation"
MAX_SLIDES = 2_000
_MAX_GROUP_DEPTH = 20


def describe_pptx(path: Path, mime: str, options: ExtractOptions) -> Description:
    """A presentation's slides as text and Markdown, its tables, notes and properties."""
    with open_package(path, LABEL) as archive:
        properties = ooxml_properties(archive, LABEL)
    import pptx

    try:
        presentation = pptx.Presentation(str(path))
        slides = list(presentation.slides)
        if len(slides) > MAX_SLIDES:
            raise BadInput(f"presentation has {len(slides)} slides, more than the limit of "
                           f"{MAX_SLIDES}")
        tables: list[Table] = []
        read = [_slide(number, slide, tables) for number, slide in enumerate(slides, start=1)]
    except BadInput:
        raise
    except Exception as exc:  # python-pptx and lxml raise many types for a damaged package
        raise BadInput(f"not a readable PowerPoint presentation (damaged .pptx): {exc}") from exc
    text = "\n\n".join(t for t, _, _ in read if t)
    markdown = "\n\n".join(m for _, m, _ in read)
    titles = [title for _, _, title in read]
    return summarise("PowerPoint presentation", mime, text, markdown,
                     counts={"slides": len(slides)}, tables=tuple(tables),
                     properties=properties, slide_titles=titles)


def _slide(number: int, slide: Any, tables: list[Table]) -> tuple[str, str, str]:
    title_shape = slide.shapes.title
    title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
    texts: list[str] = [title] if title else []
    marks: list[str] = [f"<!-- slide {number} -->"] + ([f"# {title}"] if title else [])
    for shape in _shapes(slide.shapes, 0):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if getattr(shape, "has_table", False) and shape.has_table:
            rows = [[" ".join(cell.text.split()) for cell in row.cells]
                    for row in shape.table.rows]
            rows = [r for r in rows if any(r)]
            if rows:
                tables.append(Table(f"Slide {number} table {len(tables) + 1}", rows))
                texts.append(table_text(rows))
                marks.append(markdown_table(rows))
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            lines = [(p.level, p.text.strip()) for p in shape.text_frame.paragraphs
                     if p.text.strip()]
            if lines:
                texts.append("\n".join(t for _, t in lines))
                marks.append("\n".join(_line(level, t, len(lines)) for level, t in lines))
    notes = ""
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        notes = slide.notes_slide.notes_text_frame.text.strip()
    if notes:
        texts.append(notes)
        marks.append("### Notes\n\n" + notes)
    return "\n".join(texts), "\n\n".join(marks), title


def _line(level: int, text: str, count: int) -> str:
    return f"{'  ' * level}- {text}" if count > 1 or level else text


def _shapes(shapes: Any, depth: int) -> Any:
    """Shapes in reading order, the members of groups included."""
    if depth > _MAX_GROUP_DEPTH:
        raise BadInput(f"shapes nested more than {_MAX_GROUP_DEPTH} groups deep")
    for shape in shapes:
        if shape.shape_type is not None and hasattr(shape, "shapes"):
            yield from _shapes(shape.shapes, depth + 1)
        else:
            yield shape
