#!/usr/bin/env bash
# Regenerates the bundled demo video (a synthetic clip from ffmpeg's lavfi sources; no
# third-party content). Needs ffmpeg with libx264. Later issues replace it with a rendered
# synthetic-world stream.
set -euo pipefail
cd "$(dirname "$0")"
ffmpeg -v error -y \
  -f lavfi -i "testsrc2=size=640x360:rate=25:duration=40" \
  -f lavfi -i "sine=frequency=440:duration=40" \
  -vf "drawbox=x='mod(t*90,640)':y=250:w=60:h=60:color=orange@0.9:t=fill" \
  -c:v libx264 -profile:v high -bf 3 -g 50 -crf 36 -pix_fmt yuv420p \
  -c:a aac -b:a 32k -shortest -movflags +faststart demo.mp4
ls -l demo.mp4
