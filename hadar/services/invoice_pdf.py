"""The printable invoice (`GET /invoices/{id}.pdf`): number, parties, lines, VAT and total
under bilingual English/Arabic headings, drawn with ReportLab.

Arabic needs shaping (letters join by position) and right-to-left ordering, which ReportLab
does not do: `arabic_reshaper` picks the joined glyph forms and `python-bidi` orders them for
display. The font must carry Arabic glyphs; DejaVu Sans (Debian's `fonts-dejavu-core`, which
`make setup` and the Docker image install) does. Nothing is downloaded at run time.
"""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

import arabic_reshaper
from bidi import get_display
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from hadar.domain.invoices import Invoice
from hadar.domain.leads import Lead
from hadar.domain.scope import Scope
from hadar.domain.tenants import Tenant
from hadar.errors import ServiceUnavailable
from hadar.services.invoices import get_invoice

FONT = "HadarSans"
FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",  # Debian, Ubuntu
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",  # Fedora, Alpine
    "/usr/share/fonts/TTF/DejaVuSans.ttf",  # Arch
)
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f]")
HEADINGS = {
    "title": ("Tax invoice", "فاتورة ضريبية"),
    "number": ("Invoice number", "رقم الفاتورة"),
    "from": ("From", "من"),
    "to": ("Bill to", "إلى"),
    "lines": ("Description", "الوصف"),
    "subtotal": ("Subtotal", "المجموع الفرعي"),
    "vat": ("VAT 5%", "ضريبة القيمة المضافة"),
    "total": ("Total", "الإجمالي"),
}


@cache
def _font() -> str:
    for candidate in FONT_PATHS:
        if Path(candidate).is_file():
            pdfmetrics.registerFont(TTFont(FONT, candidate))
            return FONT
    raise ServiceUnavailable("no font with Arabic glyphs is installed (fonts-dejavu-core)")


def shaped(text: str) -> str:
    """`text` as drawn: Arabic runs joined and ordered right to left, the rest unchanged."""
    if not _ARABIC.search(text):
        return text
    return str(get_display(arabic_reshaper.reshape(text)))


def aed(fils: int) -> str:
    """`AED 36,000.00` from integer fils, without floats."""
    return f"AED {fils // 100:,}.{fils % 100:02d}"


def render(*, invoice: Invoice, agency: str, lead: str) -> bytes:
    """The invoice as one A4 PDF (a new page every 30 lines)."""
    font = _font()
    out = io.BytesIO()
    pdf = Canvas(out, pagesize=A4, invariant=True)  # invariant: the same bytes for the same data
    pdf.setTitle(invoice.number or invoice.id)
    width, height = A4
    left, right = 50.0, width - 50.0

    def text(x: float, y: float, value: str, size: int = 10, *, end: bool = False) -> None:
        pdf.setFont(font, size)
        draw = pdf.drawRightString if end else pdf.drawString
        draw(x, y, shaped(value))

    def heading(x: float, y: float, key: str, size: int = 10) -> None:
        english, arabic = HEADINGS[key]
        text(x, y, f"{english} / {arabic}", size)

    y = height - 60
    heading(left, y, "title", 18)
    y -= 30
    heading(left, y, "number")
    text(right, y, invoice.number or "DRAFT", end=True)
    y -= 30
    heading(left, y, "from")
    text(left + 200, y, agency)
    y -= 18
    heading(left, y, "to")
    text(left + 200, y, lead)
    y -= 36
    heading(left, y, "lines")
    text(right, y, "Amount / المبلغ", end=True)
    y -= 18
    for index, line in enumerate(invoice.line_items):
        if index and index % 30 == 0:
            pdf.showPage()
            y = height - 60
        amount = line["quantity"] * line["unit_amount"]
        text(left, y, f"{line['quantity']} x {line['description'][:80]}", 9)
        text(right, y, aed(amount), 9, end=True)
        y -= 14
    y -= 20
    for key, value in (
        ("subtotal", invoice.subtotal),
        ("vat", invoice.vat),
        ("total", invoice.total),
    ):
        heading(left + 200, y, key, 11 if key == "total" else 10)
        text(right, y, aed(value), 11 if key == "total" else 10, end=True)
        y -= 18
    pdf.showPage()
    pdf.save()
    return out.getvalue()


async def invoice_pdf(*, scope: Scope, invoice_id: str) -> tuple[Invoice, bytes]:
    """The invoice in the caller's scope and its printable PDF (NotFound like GET)."""
    invoice = await get_invoice(scope=scope, invoice_id=invoice_id)
    tenant = await Tenant.get(id=scope.tenant_id)
    lead = await Lead.get(id=invoice.lead_id)
    return invoice, render(invoice=invoice, agency=tenant.name, lead=lead.name)
