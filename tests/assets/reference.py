#!/usr/bin/env python3
"""Write the reference JSON for one MP4 fixture (standard library only).

Usage: python3 reference.py <fixture.mp4> [block]

Writes <fixture>.json beside the input. Timestamps and key-frame flags come
from ffprobe; the block means come from decoding every frame with ffmpeg to
raw yuv420p in presentation order (no frame dropped or duplicated).
"""
import json
import math
import os
import subprocess
import sys


def run(cmd):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE).stdout


def probe(path):
    stream = json.loads(run([
        "ffprobe", "-v", "error", "-select_streams", "v:0",
        "-show_entries",
        "stream=codec_name,profile,width,height,has_b_frames,nb_frames",
        "-of", "json", path]))["streams"][0]
    frames = json.loads(run([
        "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_frames",
        "-show_entries",
        "frame=pts_time,best_effort_timestamp_time,key_frame,pict_type",
        "-of", "json", path]))["frames"]
    return stream, frames


def frame_time_ms(frame):
    t = frame.get("pts_time")
    if t is None or t == "N/A":
        t = frame.get("best_effort_timestamp_time")
    if t is None or t == "N/A":
        raise SystemExit("frame without a timestamp: %r" % (frame,))
    return round(float(t) * 1000.0, 3)


def plane_block_means(buf, off, w, h, block):
    """Mean of every block x block tile of a w x h plane, row-major.

    Edge tiles are averaged over the pixels they actually contain."""
    out = []
    for by in range(0, h, block):
        rows = [buf[off + y * w: off + (y + 1) * w]
                for y in range(by, min(by + block, h))]
        nrows = len(rows)
        for bx in range(0, w, block):
            bx1 = min(bx + block, w)
            s = 0
            for r in rows:
                s += sum(r[bx:bx1])
            out.append(num(s / (nrows * (bx1 - bx))))
    return out


def num(x):
    """Round to 3 decimals; integral values are written as integers."""
    r = round(x, 3)
    return int(r) if r == int(r) else r


def main():
    path = sys.argv[1]
    block = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    stream, frames = probe(path)
    w, h = int(stream["width"]), int(stream["height"])
    cw, ch = (w + 1) // 2, (h + 1) // 2
    ysize, csize = w * h, cw * ch
    fsize = ysize + 2 * csize

    raw = run(["ffmpeg", "-v", "error", "-nostdin", "-i", path,
               "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "yuv420p",
               "-fps_mode", "passthrough", "-"])
    if len(raw) % fsize:
        raise SystemExit("%s: decoded size %d is not a multiple of %d"
                         % (path, len(raw), fsize))
    ndec = len(raw) // fsize
    if ndec != len(frames):
        raise SystemExit("%s: ffmpeg decoded %d frames, ffprobe reports %d"
                         % (path, ndec, len(frames)))
    nb = stream.get("nb_frames")
    if nb not in (None, "N/A") and int(nb) != ndec:
        # Fragmented files report nb_frames from the (empty) moov only.
        print("%s: note: stream nb_frames=%s, decoded %d" % (path, nb, ndec),
              file=sys.stderr)

    pts = [frame_time_ms(f) for f in frames]
    if any(b <= a for a, b in zip(pts, pts[1:])):
        raise SystemExit("%s: frame timestamps not strictly increasing" % path)

    means = []
    for i in range(ndec):
        base = i * fsize
        m = plane_block_means(raw, base, w, h, block)
        m += plane_block_means(raw, base + ysize, cw, ch, block)
        m += plane_block_means(raw, base + ysize + csize, cw, ch, block)
        means.append(m)

    any_b = any(f.get("pict_type") == "B" for f in frames)
    reorder = int(stream.get("has_b_frames") or 0)
    if any_b != (reorder > 0):
        print("%s: note: B-frames present=%s but stream has_b_frames=%d"
              % (path, any_b, reorder), file=sys.stderr)

    ref = {
        "file": os.path.basename(path),
        "codec": stream["codec_name"],
        "profile": stream.get("profile", ""),
        "width": w,
        "height": h,
        "frame_count": ndec,
        "frames_pts_ms": pts,
        "keyframes_pts_ms": [p for p, f in zip(pts, frames)
                             if int(f.get("key_frame", 0)) == 1],
        "has_b_frames": any_b,
        "block": block,
        "yuv_block_means": means,
    }
    out = os.path.splitext(path)[0] + ".json"
    with open(out, "w") as f:
        json.dump(ref, f, separators=(",", ":"))
        f.write("\n")
    types = "".join(f.get("pict_type", "?") for f in frames)
    print("%s: %s %s %dx%d frames=%d keyframes=%d B=%s reorder=%d json=%dB "
          "types=%s" % (out, ref["codec"], ref["profile"], w, h, ndec,
                        len(ref["keyframes_pts_ms"]), any_b, reorder,
                        os.path.getsize(out), types))


if __name__ == "__main__":
    main()
