"""Office files made with their own writers, for the office readers' tests."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def docx(path: Path) -> Path:
    import docx as python_docx

    document = python_docx.Document()
    document.core_properties.title = "Allotment society minutes"
    document.core_properties.author = "Margaret Hale"
    document.core_properties.subject = "Spring meeting"
    document.sections[0].header.paragraphs[0].text = "Allotment society - confidential"
    document.sections[0].footer.paragraphs[0].text = "Printed on recycled paper"
    document.add_heading("Spring meeting", level=1)
    intro = document.add_paragraph("The committee met in the potting shed.")
    document.add_heading("Actions", level=2)
    document.add_paragraph("Mend the water butt", style="List Bullet")
    document.add_paragraph("Order seed potatoes", style="List Bullet")
    document.add_paragraph("Elect a treasurer", style="List Number")
    table = document.add_table(rows=3, cols=2)
    for row, cells in zip(table.rows, [("Plot", "Holder"), ("12", "Mr Thornton"),
                                       ("14", "Mrs Shaw")], strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    document.add_paragraph("Next meeting in June.")
    document.add_comment(intro.runs, text="Was it not the greenhouse?", author="Bessy")
    document.save(str(path))
    return path


def xlsx(path: Path, rows: int = 0) -> Path:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"title": "Harvest tally", "author": "Nicholas Higgins"})
    crops = workbook.add_worksheet("Crops")
    for r, values in enumerate([("Crop", "Kilos"), ("Leeks", 14), ("Runner beans", 22.5)]):
        crops.write_row(r, 0, values)
    bees = workbook.add_worksheet("Bees")
    bees.write_row(0, 0, ("Hive", "Jars"))
    bees.write_row(1, 0, ("North hive", 31))
    if rows:
        big = workbook.add_worksheet("Log")
        for r in range(rows):
            big.write_row(r, 0, (f"entry {r}", r))
    workbook.close()
    return path


def sparse_xlsx(path: Path) -> Path:
    """Two values at opposite corners: a dense grid of 17 billion cells."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Far")
    sheet.write(0, 0, "near")
    sheet.write(1_048_575, 16_383, "far")
    workbook.close()
    return path


def pptx(path: Path) -> Path:
    import pptx as python_pptx
    from pptx.util import Inches

    deck = python_pptx.Presentation()
    deck.core_properties.title = "Mill report"
    deck.core_properties.author = "John Thornton"
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Cotton prices"
    body = first.placeholders[1].text_frame
    body.text = "Prices rose in March"
    body.add_paragraph().text = "Exports held steady"
    first.notes_slide.notes_text_frame.text = "Mention the strike in Milton"
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Output by mill"
    shape = second.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2))
    for r, values in enumerate([("Mill", "Bales"), ("Marlborough", "120"),
                                ("Hamper's", "95")]):
        for c, value in enumerate(values):
            shape.table.cell(r, c).text = value
    deck.save(str(path))
    return path


def odt(path: Path) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, List, ListItem, P

    document = OpenDocumentText()
    document.meta.addElement(_meta_title("Choir rota"))
    document.text.addElement(H(outlinelevel=1, text="Choir rota"))
    document.text.addElement(P(text="Rehearsals are on Thursday evenings."))
    items = List()
    for name in ("Sopranos bring music stands", "Tenors open the hall"):
        item = ListItem()
        item.addElement(P(text=name))
        items.addElement(item)
    document.text.addElement(items)
    table = Table(name="Rota")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for values in (("Week", "Reader"), ("1", "Dixon"), ("2", "Boucher")):
        row = TableRow()
        for value in values:
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    document.text.addElement(table)
    document.save(str(path))
    return path


def odp(path: Path) -> Path:
    from odf.draw import Frame, Page, TextBox
    from odf.namespaces import PRESENTATIONNS
    from odf.opendocument import OpenDocumentPresentation
    from odf.presentation import Notes
    from odf.style import MasterPage, PageLayout
    from odf.text import P

    deck = OpenDocumentPresentation()
    layout = PageLayout(name="layout")
    deck.automaticstyles.addElement(layout)
    master = MasterPage(name="master", pagelayoutname=layout)
    deck.masterstyles.addElement(master)
    for title, line, note in (("Harvest festival", "Tables in the nave", "Ask the vicar"),
                              ("Bring and buy", "Cakes by the door", "")):
        page = Page(masterpagename=master)
        deck.presentation.addElement(page)
        for cls, text in (("title", title), ("outline", line)):
            frame = Frame(width="20cm", height="3cm", x="1cm", y="1cm")
            frame.setAttrNS(PRESENTATIONNS, "class", cls)
            box = TextBox()
            box.addElement(P(text=text))
            frame.addElement(box)
            page.addElement(frame)
        if note:
            notes = Notes()
            frame = Frame(width="20cm", height="3cm", x="1cm", y="1cm")
            box = TextBox()
            box.addElement(P(text=note))
            frame.addElement(box)
            notes.addElement(frame)
            page.addElement(notes)
    deck.save(str(path))
    return path


def ods(path: Path) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    book = OpenDocumentSpreadsheet()
    table = Table(name="Subscriptions")
    for values in (("Member", "Paid"), ("Higgins", "12"), ("Boucher", "8")):
        row = TableRow()
        for value in values:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    book.spreadsheet.addElement(table)
    book.save(str(path))
    return path


def _meta_title(title: str) -> object:
    from odf.dc import Title

    return Title(text=title)


def rewrite_member(source: Path, target: Path, name: str, data: bytes) -> Path:
    """A copy of a zip package with one member's bytes replaced."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w",
                                                         zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info, data if info.filename == name else old.read(info.filename))
    return target


def encrypt_ooxml(source: Path, target: Path, password: str = "secret") -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    with source.open("rb") as plain:
        OOXMLFile(plain).encrypt(password, out)
    target.write_bytes(out.getvalue())
    return target


LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%s;" % (str(i - 1).encode()
                                                                  if i > 1 else b"")) * 10)
                     for i in range(1, 10))
          + b']>\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/'
          b'2006/main"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>')
