"""Reading back the PDFs the product writes, enough to find the text and shapes fpdf2 drew."""

import re
import zlib

# A stream's bytes run to the first `endstream`; the end-of-line before it is not part of the
# data but is left on, since inflating stops at the end of the deflate data and keeps the rest.
_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)


def pdf_text(pdf: bytes) -> str:
    """Every content stream of the PDF, inflated where compressed, as latin-1 text."""
    out = []
    for match in _STREAM.finditer(pdf):
        data = match.group(1)
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(data)
        except zlib.error:
            text = data
        out.append(text.decode("latin-1"))
    return "\n".join(out)
