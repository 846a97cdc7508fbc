"""A small streaming xlsx (SpreadsheetML) writer, built column by column with array operations.

:mod:`kamrisk._outputs` prepares each column's values (text cleaned, numbers as floats, dates as serial
days); this module turns them into a minimal, standards-conformant package (ECMA-376 / ISO 29500,
transitional): ``[Content_Types].xml``, ``_rels/.rels``, ``xl/workbook.xml`` and its rels,
``xl/styles.xml``, ``xl/sharedStrings.xml`` and one ``xl/worksheets/sheetN.xml`` per sheet, with the
header frozen, an autofilter over the whole table (and its hidden ``_xlnm._FilterDatabase`` name, as
Excel writes it) and column widths.

Why not XlsxWriter: it spends about 4.6 µs of Python per cell (one call, one format lookup and one XML
element at a time), 18 s for a 100,000-account scores table. Here a sheet is written in blocks of rows:
every cell's XML is a handful of pieces (reference, style and type, value) placed into an object array
by column, and one ``str.join`` per block makes the XML, so the cost per cell is a few pointer copies.

Text goes through the shared string table (each distinct text once, as Excel itself writes it): markup
characters are escaped, and as in Excel and XlsxWriter a carriage return is written ``_x000D_`` and a
literal ``_xHHHH_`` in the text is protected as ``_x005F_xHHHH_``, so every text reads back as written.
Characters XML cannot hold at all are the caller's job (:mod:`kamrisk._outputs` removes them).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np

__all__ = ["Workbook", "SheetColumn", "MAX_SHEET_NAME", "check_sheet_name", "column_letter"]

MAX_SHEET_NAME = 31
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
_BLOCK = 4096  # rows per block of XML: bounded memory whatever the table's size
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_ESCAPE_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_SPECIAL = re.compile(r"[&<>_\x00-\x08\x0b-\x1f\ufffe\uffff]")
# number formats Excel knows by id; any other gets an id from 164 up
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10}
_STYLE_KEYS = {"bold", "bg_color", "font_color", "text_wrap", "valign", "num_format", "quote_prefix"}
_DEFAULT_FONT = '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
_VALIGN = {"top": "top", "vcenter": "center", "center": "center", "bottom": "bottom"}


def column_letter(index: int) -> str:
    """Excel's name of a 0-based column index: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def check_sheet_name(name: str, taken: Sequence[str] = ()) -> str:
    """``name`` if Excel accepts it as a sheet name (else ValueError saying why)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"A sheet name must be a non-empty text, got {name!r}.")
    if len(name) > MAX_SHEET_NAME:
        raise ValueError(f"Sheet name {name!r} is longer than Excel's {MAX_SHEET_NAME} characters.")
    if _BAD_SHEET_CHARS.search(name) or name.startswith("'") or name.endswith("'") or _CONTROL.search(name):
        raise ValueError(f"Sheet name {name!r} holds a character Excel refuses ([ ] : * ? / \\, a control "
                         "character, or a quote at either end).")
    if name.casefold() == "history" or name.casefold() in {t.casefold() for t in taken}:
        raise ValueError(f"Sheet name {name!r} is reserved or already used in this workbook.")
    return name


def _text_xml(text: str) -> str:
    """``<t>`` content of one text: markup escaped, control characters and literal escapes as Excel writes them."""
    if not _SPECIAL.search(text):
        return text
    text = _ESCAPE_ESCAPE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    return escape(text)


def _colour(value: str) -> str:
    value = value.lstrip("#").upper()
    if not re.fullmatch(r"[0-9A-F]{6}", value):
        raise ValueError(f"A colour is #RRGGBB, got {value!r}.")
    return "FF" + value


def _width(chars: float) -> float:
    """A width in characters as Excel stores it (as XlsxWriter computes it: 7-pixel digits, 5 pixels padding)."""
    pixels = int(chars * 12 + 0.5) if chars < 1 else int(chars * 7 + 0.5) + 5
    return int(pixels / 7 * 256) / 256


@dataclass
class SheetColumn:
    """One prepared column: how its cells are written.

    ``kind`` is ``s`` (``values`` is an int array of indexes into the workbook's shared strings, -1 when
    empty), ``n`` (float array, NaN when empty) or ``b`` (float array of 0/1, NaN when empty). ``styles``
    is an int array of style indexes per row (0 = none; an empty cell with a style is written blank, so a
    band's fill shows) or one index for the whole column (empty cells left out).
    """

    header: str
    kind: str
    values: np.ndarray
    styles: np.ndarray | int
    width: float


@dataclass
class _Styles:
    """The workbook's cell formats (cellXfs) with their fonts, fills and number formats, each kept once."""

    fonts: list[str] = field(default_factory=lambda: [_DEFAULT_FONT])
    fills: list[str] = field(default_factory=lambda: ['<fill><patternFill patternType="none"/></fill>',
                                                      '<fill><patternFill patternType="gray125"/></fill>'])
    formats: dict[str, int] = field(default_factory=dict)
    xfs: list[str] = field(default_factory=lambda: ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'])

    @staticmethod
    def _index(items: list[str], item: str) -> int:
        if item not in items:
            items.append(item)
        return items.index(item)

    def add(self, spec: dict[str, Any]) -> int:
        """The cellXfs index of a style given as XlsxWriter-like keys (bold, bg_color, font_color, ...)."""
        unknown = set(spec) - _STYLE_KEYS
        if unknown:
            raise ValueError(f"Unknown style key(s) {sorted(unknown)}; known: {sorted(_STYLE_KEYS)}.")
        attributes, children = [], ""
        font_id = fill_id = num_id = 0
        if spec.get("bold") or spec.get("font_color"):
            colour = f'<color rgb="{_colour(spec["font_color"])}"/>' if spec.get("font_color") else ""
            font_id = self._index(self.fonts, f'<font>{"<b/>" if spec.get("bold") else ""}<sz val="11"/>{colour}'
                                              '<name val="Calibri"/><family val="2"/></font>')
            attributes.append('applyFont="1"')
        if spec.get("bg_color"):
            colour = _colour(spec["bg_color"])
            fill_id = self._index(self.fills, f'<fill><patternFill patternType="solid"><fgColor rgb="{colour}"/>'
                                              '<bgColor indexed="64"/></patternFill></fill>')
            attributes.append('applyFill="1"')
        if spec.get("num_format"):
            code = spec["num_format"]
            num_id = _BUILTIN_FORMATS.get(code) or self.formats.setdefault(code, 164 + len(self.formats))
            attributes.append('applyNumberFormat="1"')
        if spec.get("quote_prefix"):
            attributes.append('quotePrefix="1"')
        if spec.get("text_wrap") or spec.get("valign"):
            wrap = ' wrapText="1"' if spec.get("text_wrap") else ""
            vertical = f' vertical="{_VALIGN[spec["valign"]]}"' if spec.get("valign") else ""
            children = f"<alignment{vertical}{wrap}/>"
            attributes.append('applyAlignment="1"')
        extra = (" " + " ".join(attributes)) if attributes else ""
        xf = f'<xf numFmtId="{num_id}" fontId="{font_id}" fillId="{fill_id}" borderId="0" xfId="0"{extra}'
        return self._index(self.xfs, xf + (f">{children}</xf>" if children else "/>"))

    def xml(self) -> str:
        formats = "".join(f'<numFmt numFmtId="{i}" formatCode={quoteattr(code)}/>' for code, i in self.formats.items())
        return (
            f'{_DECLARATION}<styleSheet xmlns="{_NS}">'
            + (f'<numFmts count="{len(self.formats)}">{formats}</numFmts>' if self.formats else "")
            + f'<fonts count="{len(self.fonts)}">{"".join(self.fonts)}</fonts>'
            + f'<fills count="{len(self.fills)}">{"".join(self.fills)}</fills>'
            + '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            + '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            + f'<cellXfs count="{len(self.xfs)}">{"".join(self.xfs)}</cellXfs>'
            + '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            + '<dxfs count="0"/><tableStyles count="0"/></styleSheet>'
        )


class Workbook:
    """An xlsx package written as it goes: each sheet is streamed into the zip, the rest on :meth:`close`.

    Parameters
    ----------
    path : Path
        The ``.xlsx`` file to write (replaced if it exists).
    compresslevel : int, default 1
        zlib level of the parts: 1 is several times faster than the default 6 for files about 15% larger.
    """

    def __init__(self, path: str | Path, compresslevel: int = 1) -> None:
        self.path = Path(path)
        self._zip = zipfile.ZipFile(self.path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
        self._sheets: list[tuple[str, str | None]] = []  # (name, autofilter range)
        self._strings: dict[str, int] = {}
        self._string_refs = 0
        self.styles = _Styles()

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def abort(self) -> None:
        """Close and delete the file: a workbook cut short by an error is never left looking complete."""
        self._zip.close()
        self.path.unlink(missing_ok=True)

    # shared strings ---------------------------------------------------------------------------------------
    def strings(self, texts: Sequence[str]) -> np.ndarray:
        """Indexes of ``texts`` in the shared string table, adding the new ones."""
        table = self._strings
        return np.fromiter((table.setdefault(t, len(table)) for t in texts), dtype=np.int64, count=len(texts))

    def add_style(self, spec: dict[str, Any]) -> int:
        return self.styles.add(spec)

    # sheets ----------------------------------------------------------------------------------------------
    def add_sheet(self, name: str, columns: Sequence[SheetColumn], *, header_style: int = 0,
                  header_height: float = 30) -> None:
        """Stream one sheet: a header row (frozen, filterable) and the columns' cells, in blocks of rows."""
        check_sheet_name(name, [n for n, _ in self._sheets])
        n_rows = len(columns[0].values) if columns else 0
        if n_rows + 1 > MAX_ROWS or len(columns) > MAX_COLUMNS:
            raise ValueError(f"Sheet {name!r}: {n_rows + 1:,} rows x {len(columns)} columns is more than Excel's "
                             f"{MAX_ROWS:,} x {MAX_COLUMNS:,}.")
        letters = [column_letter(j) for j in range(len(columns))]
        last = f"{letters[-1]}{max(n_rows, 1) + 1}" if columns else "A1"
        filter_range = f"A1:{last}" if columns else None
        selected = "" if self._sheets else ' tabSelected="1"'  # the first sheet is the one shown
        self._sheets.append((name, filter_range))
        header_ids = self.strings([c.header for c in columns])
        self._string_refs += len(columns)
        cols = "".join(f'<col min="{j + 1}" max="{j + 1}" width="{_width(c.width)}" customWidth="1"/>'
                       for j, c in enumerate(columns))
        head = (
            f'{_DECLARATION}<worksheet xmlns="{_NS}" xmlns:r="{_REL_NS}">'
            f'<dimension ref="{"A1:" + last if columns else "A1"}"/>'
            f'<sheetViews><sheetView{selected} workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>'
            + (f"<cols>{cols}</cols>" if columns else "")
            + f'<sheetData><row r="1" ht="{header_height}" customHeight="1">'
            + "".join(f'<c r="{letter}1"{_style_attr(header_style)} t="s"><v>{i}</v></c>'
                      for letter, i in zip(letters, header_ids, strict=True))
            + "</row>"
        )
        tail = "</sheetData>" + (f'<autoFilter ref="{filter_range}"/>' if filter_range else "") + \
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
        # ZIP64 only when the part could pass 2 GiB (at most about 80 bytes a cell): some readers balk at it
        large = n_rows * (80 * len(columns) + 30) > 2**31 - 2**26
        with self._zip.open(f"xl/worksheets/sheet{len(self._sheets)}.xml", "w", force_zip64=large) as part:
            part.write(head.encode("utf-8"))
            for start in range(0, n_rows, _BLOCK):
                part.write(self._block(columns, letters, start, min(start + _BLOCK, n_rows)).encode("utf-8"))
            part.write(tail.encode("utf-8"))

    def _block(self, columns: Sequence[SheetColumn], letters: list[str], start: int, stop: int) -> str:
        """The XML of rows ``start`` to ``stop`` (0-based data rows): one join over an array of pieces.

        Each cell is five pieces: ``<c r="B``, the row number, ``" s="3" t="s"><v>``, the value and
        ``</v></c>``; an empty cell's pieces are empty texts, or a blank ``<c r="B7" s="3"/>`` when styled.
        """
        n = stop - start
        numbers = np.array([str(r) for r in range(start + 2, stop + 2)], dtype=object)
        pieces = np.empty((n, 2 + 5 * len(columns)), dtype=object)
        pieces[:, 0] = [f'<row r="{r}">' for r in range(start + 2, stop + 2)]
        pieces[:, -1] = "</row>"
        for j, column in enumerate(columns):
            at = 1 + 5 * j
            values = column.values[start:stop]
            styles = column.styles[start:stop] if isinstance(column.styles, np.ndarray) else None
            if column.kind == "s":
                present = values >= 0
                text = values.astype(str).astype(object)
                self._string_refs += int(present.sum())
            else:
                present = ~np.isnan(values)
                shown = _numbers(values) if column.kind == "n" else ["1" if v else "0" for v in values.tolist()]
                text = np.array(shown, dtype=object)
            kind = "" if column.kind == "n" else f' t="{column.kind}"'
            if styles is None:
                middle: Any = f'"{_style_attr(column.styles)}{kind}><v>'
            else:
                lookup = {s: f'"{_style_attr(s)}{kind}><v>' for s in np.unique(styles).tolist()}
                middle = np.array([lookup[s] for s in styles.tolist()], dtype=object)
            pieces[:, at] = f'<c r="{letters[j]}'
            pieces[:, at + 1] = numbers
            pieces[:, at + 2] = middle
            pieces[:, at + 3] = text
            pieces[:, at + 4] = "</v></c>"
            if not present.all():
                empty = ~present
                pieces[empty, at + 3] = ""
                # an empty cell is left out, unless a per-row style (a band's fill) must show
                blank = empty & (styles > 0) if styles is not None else np.zeros(n, dtype=bool)
                pieces[empty & ~blank, at:at + 5] = ""
                if blank.any():
                    pieces[blank, at + 2] = [f'"{_style_attr(s)}/>' for s in styles[blank].tolist()]
                    pieces[blank, at + 4] = ""
        return "".join(pieces.ravel().tolist())

    # the package -----------------------------------------------------------------------------------------
    def close(self) -> None:
        """Write the shared strings, styles, workbook, relationships and content types, and close the file."""
        write = self._zip.writestr
        sst = "".join(f'<si><t xml:space="preserve">{_text_xml(t)}</t></si>' for t in self._strings)
        write("xl/sharedStrings.xml", f'{_DECLARATION}<sst xmlns="{_NS}" count="{self._string_refs}" '
                                      f'uniqueCount="{len(self._strings)}">{sst}</sst>'.encode())
        write("xl/styles.xml", self.styles.xml().encode())
        n = len(self._sheets)
        sheets = "".join(f'<sheet name={quoteattr(name)} sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                         for i, (name, _) in enumerate(self._sheets))
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{escape(_quoted_sheet(name))}!{_absolute(ref)}</definedName>"
            for i, (name, ref) in enumerate(self._sheets) if ref)
        write("xl/workbook.xml", (
            f'{_DECLARATION}<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}"><bookViews><workbookView activeTab="0"/>'
            f"</bookViews><sheets>{sheets}</sheets>" + (f"<definedNames>{names}</definedNames>" if names else "")
            + "</workbook>").encode("utf-8"))
        rels = "".join(f'<Relationship Id="rId{i + 1}" Type="{_REL_NS}/worksheet" '
                       f'Target="worksheets/sheet{i + 1}.xml"/>' for i in range(n))
        rels += (f'<Relationship Id="rId{n + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
                 f'<Relationship Id="rId{n + 2}" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>')
        write("xl/_rels/workbook.xml.rels",
              f'{_DECLARATION}<Relationships xmlns="{_PKG_REL_NS}">{rels}</Relationships>')
        write("_rels/.rels", f'{_DECLARATION}<Relationships xmlns="{_PKG_REL_NS}"><Relationship Id="rId1" '
                             f'Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="{_CT}.worksheet+xml"/>'
                            for i in range(n))
        write("[Content_Types].xml", (
            f'{_DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>{overrides}'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/></Types>'))
        self._zip.close()


def _numbers(values: np.ndarray) -> list[str]:
    """The shortest text that reads back as the same float; whole numbers without ".0" when all are whole."""
    finite = np.where(np.isnan(values), 0.0, values)
    if np.all((finite == np.round(finite)) & (np.abs(finite) < 2**53)):
        return list(map(str, finite.astype(np.int64).tolist()))
    return list(map(float.__repr__, values.tolist()))


def _style_attr(style: int) -> str:
    return f' s="{style}"' if style else ""


def _quoted_sheet(name: str) -> str:
    """A sheet name as a formula reference writes it: quoted, inner quotes doubled."""
    return "'" + name.replace("'", "''") + "'"


def _absolute(ref: str) -> str:
    """A1:S101 -> $A$1:$S$101."""
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in ref.split(":"))
