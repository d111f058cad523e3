#!/usr/bin/env python3
"""Writes the small PDF fixtures that the shared/extract tests read.

Run it from this folder; the outputs are committed, so tests never run it.
It needs python3 and qpdf (Debian package qpdf) for the encrypted file.
"""
import subprocess
import zlib


def write_pdf(path, content, extra_objects=()):
    """Writes a one-page PDF whose page draws content with font F1."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    objects.extend(extra_objects)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    with open(path, "wb") as f:
        f.write(out)


def main():
    # A page with one sentence of real text, the source of encrypted.pdf.
    write_pdf("plain.pdf", b"BT /F1 18 Tf 72 700 Td (Quarterly revenue grew by twelve percent.) Tj ET")

    # A page that only paints a 64x64 grey gradient image, like a scan.
    pixels = bytes((x * 4) % 256 for y in range(64) for x in range(64))
    image = zlib.compress(pixels)
    draw = b"q 400 0 0 400 100 200 cm BI /W 64 /H 64 /CS /G /BPC 8 /F /Fl /L %d ID " % len(image) + image + b"\nEI Q"
    write_pdf("image_only.pdf", draw)

    # A page whose only text is spaces: it must count as having no text.
    write_pdf("blank_text.pdf", b"BT /F1 18 Tf 72 700 Td (      ) Tj ET")

    # AES-256 with a user password, so no text can be read without it.
    subprocess.run(
        ["qpdf", "--encrypt", "user-secret", "owner-secret", "256", "--", "plain.pdf", "encrypted.pdf"],
        check=True,
    )


if __name__ == "__main__":
    main()
