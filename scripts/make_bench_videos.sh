#!/usr/bin/env bash
# Generates the videos the `taskmem bench` figures in README.md were measured on (needs ffmpeg
# with libx264). Synthetic lavfi sources, so anyone can reproduce them.
#   v720.mp4       720p30 H.264 High, B-frames, 2 s GOPs, 60 s  (decode speed, seeks)
#   long1080.mp4   1080p H.264 High, 2 s GOPs, one hour at 5 fps (memory while playing;
#                  the frame rate only changes the sample-table size, a few MB at 30 fps)
set -euo pipefail
out=${1:-target/bench-videos}
mkdir -p "$out"
ffmpeg -v error -y -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=60" \
  -c:v libx264 -profile:v high -bf 3 -g 60 -preset medium -crf 23 -pix_fmt yuv420p "$out/v720.mp4"
ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=5:duration=3600" \
  -c:v libx264 -profile:v high -g 10 -preset ultrafast -crf 30 -pix_fmt yuv420p "$out/long1080.mp4"
ls -l "$out"
