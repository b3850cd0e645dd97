# t/pngedge.py PNG [TOP]: exit 1 when anything is drawn in the rightmost
# 5 columns of a screenshot below row TOP (default 60, under the header),
# that is when the page runs past the right edge of the window. The
# background is the colour of the bottom-right pixel. 8-bit RGB or RGBA,
# not interlaced (what chromium writes); no PIL needed.
import struct, sys, zlib
def png(path):
    d = open(path, "rb").read()
    assert d[:8] == b"\x89PNG\r\n\x1a\n"
    i, idat = 8, b""
    while i < len(d):
        n, t = struct.unpack(">I4s", d[i:i + 8])
        c = d[i + 8:i + 8 + n]
        if t == b"IHDR":
            w, h, depth, ctype, _, _, inter = struct.unpack(">IIBBBBB", c)
        elif t == b"IDAT":
            idat += c
        i += 12 + n
    assert depth == 8 and ctype in (2, 6) and inter == 0, (depth, ctype)
    bpp = 3 if ctype == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, cc = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - cc; pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else cc)) & 255
        rows.append(line); prev = line
    return w, h, bpp, rows
w, h, bpp, rows = png(sys.argv[1])
top = int(sys.argv[2]) if len(sys.argv) > 2 else 60
bg = tuple(rows[h - 1][(w - 1) * bpp:(w - 1) * bpp + 3])
bad = [(x, y) for y in range(top, h) for x in range(w - 5, w)
       if tuple(rows[y][x * bpp:x * bpp + 3]) != bg]
print(w, h, bg, len(bad), bad[:3])
sys.exit(1 if bad else 0)
