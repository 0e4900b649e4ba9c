#!/usr/bin/env python3
"""Saves the whole X screen ($DISPLAY, e.g. an Xvfb) as a PNG: xshot.py OUT.png

Used by scripts/screenshots-x11.sh to photograph the viewer's real window; needs only libX11
(ctypes) and the standard library (zlib), no ImageMagick.
"""
import ctypes
import ctypes.util
import struct
import sys
import zlib


def grab():
    x11 = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XGetImage.restype = ctypes.c_void_p
    x11.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint,
                              ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
    x11.XGetPixel.restype = ctypes.c_ulong
    x11.XGetPixel.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    x11.XDisplayWidth.argtypes = x11.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
    display = x11.XOpenDisplay(None)
    if not display:
        sys.exit("xshot.py: cannot open $DISPLAY")
    w, h = x11.XDisplayWidth(display, 0), x11.XDisplayHeight(display, 0)
    image = x11.XGetImage(display, x11.XDefaultRootWindow(display), 0, 0, w, h, 0xFFFFFFFF, 2)  # ZPixmap
    # XImage: width, height, xoffset, format, data pointer, byte_order, ..., bytes_per_line at 44.
    data = ctypes.cast(ctypes.c_void_p.from_address(image + 16).value, ctypes.POINTER(ctypes.c_ubyte))
    stride = ctypes.c_int.from_address(image + 44).value
    raw = ctypes.string_at(data, stride * h)
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        line = raw[y * stride: y * stride + 4 * w]
        for x in range(0, 4 * w, 4):  # 32-bit BGRX -> RGB
            rows += bytes((line[x + 2], line[x + 1], line[x]))
    return w, h, bytes(rows)


def write_png(path, w, h, rows):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    write_png(sys.argv[1], *grab())
