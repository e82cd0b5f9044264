"""Spreadsheet uploads as the bulk-import tests send them: CSV or XLSX bytes of a header and
rows, by default the product columns."""

import csv
import io

from openpyxl import Workbook

HEADER = ["slug", "name_zh", "name_en", "category", "counties", "season", "summary_zh"]

# Two new Wenchang products under HEADER: one with every column, one with county and season
# written the other ways an editor types them (the Chinese name, a ";" list).
NEW_ROWS = [
    [
        "wenchang-coconut-candy",
        "文昌椰子糖",
        "Wenchang coconut candy",
        "processed-food",
        "wenchang",
        "1-12",
        "椰子糖",
    ],
    ["wenchang-pepper", "文昌胡椒", "", "spice", "文昌市", "9;10;11", ""],
]


def csv_file(rows: list[list[str]], header=HEADER, encoding="utf-8-sig", delimiter=",") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_file(rows: list[list], header=HEADER) -> bytes:
    workbook = Workbook()
    workbook.active.append(header)
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
