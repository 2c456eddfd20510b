#!/usr/bin/env bash
# Regenerate the MP4 test fixtures and their reference JSON.
# Needs ffmpeg/ffprobe (>= 5.1) built with libx264 and libx265, and python3.
# All content is synthetic (lavfi testsrc2 / sine); nothing third-party.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

FF=(ffmpeg -y -v error -nostdin)
# Keep the files reproducible: no encoder/creation-time metadata, one x264
# thread (lookahead/slice decisions can depend on the thread count).
COMMON=(-map_metadata -1 -fflags +bitexact -threads 1)
X264_COMMON=(-c:v libx264 -preset medium -crf 26 -pix_fmt yuv420p)

src() { # src W H FPS DURATION
    echo "testsrc2=size=$1x$2:rate=$3:duration=$4"
}

# Durations are kept short so that each reference JSON stays near or under
# ~400 KB (the 8x8 block means cost ~7.5 KB per 320x180 frame and ~25 KB per
# 640x360 frame).

# 1. H.264 Constrained Baseline, 320x180, 25 fps, 2 s, GOP 25 (2 GOPs).
"${FF[@]}" -f lavfi -i "$(src 320 180 25 2)" -an "${X264_COMMON[@]}" \
    -profile:v baseline -g 25 "${COMMON[@]}" baseline.mp4

# 2. H.264 Main, 320x240, 30 fps, 1.4 s (42 frames), 2 B-frames, GOP 30
#    (2 GOPs).
"${FF[@]}" -f lavfi -i "$(src 320 240 30 1.4)" -an "${X264_COMMON[@]}" \
    -profile:v main -bf 2 -g 30 "${COMMON[@]}" main.mp4

# 3. H.264 High, 640x360, 30 fps, 0.6 s (18 frames), GOP 6 (3 GOPs), fixed
#    3 B-frames with pyramid: IBBBPP per GOP, decode order I P B(ref) B B P,
#    i.e. the middle B is a reference for its neighbours (reorder depth 2).
"${FF[@]}" -f lavfi -i "$(src 640 360 30 0.6)" -an "${X264_COMMON[@]}" \
    -profile:v high -bf 3 -g 6 -x264-params b-pyramid=normal:b-adapt=0 \
    "${COMMON[@]}" high_bframes.mp4

# 4. H.264 High, 322x182 (not a multiple of 16: SPS cropping; odd chroma
#    plane 161x91), 24 fps, 2 s.
"${FF[@]}" -f lavfi -i "$(src 322 182 24 2)" -an "${X264_COMMON[@]}" \
    -profile:v high "${COMMON[@]}" odd_size.mp4

# 5. Variable frame rate, 40 frames: 20 frames of 40 ms, 10 of 100 ms, then
#    10 of 20 ms. Timestamps are integers in a 1/90000 time base (setpts
#    truncates, so a float expression would add +-1 tick jitter).
"${FF[@]}" -f lavfi -i "$(src 320 180 25 1.6)" -an \
    -vf "settb=1/90000,setpts='if(lt(N,20),N*3600,if(lt(N,30),72000+(N-20)*9000,162000+(N-30)*1800))'" \
    "${X264_COMMON[@]}" -profile:v high -fps_mode passthrough \
    -enc_time_base:v 1:90000 -video_track_timescale 90000 \
    "${COMMON[@]}" vfr.mp4

# 6. Audio first: track 1 / stream 0 is AAC, track 2 / stream 1 is H.264.
"${FF[@]}" -f lavfi -i "$(src 320 180 25 2)" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=2" \
    -map 1:a -map 0:v -c:a aac -b:a 64k "${X264_COMMON[@]}" \
    -profile:v high "${COMMON[@]}" audio_first.mp4

# 7. Fragmented MP4 (empty moov, one moof per keyframe), Main with B-frames,
#    320x180, 25 fps, 2 s, GOP 10 (5 fragments).
"${FF[@]}" -f lavfi -i "$(src 320 180 25 2)" -an "${X264_COMMON[@]}" \
    -profile:v main -bf 2 -g 10 \
    -movflags frag_keyframe+empty_moov+default_base_moof \
    "${COMMON[@]}" fragmented.mp4

# 8. avc3 sample entry: SPS/PPS repeated in-band before every IDR.
"${FF[@]}" -f lavfi -i "$(src 320 180 25 2)" -an "${X264_COMMON[@]}" \
    -profile:v high -g 25 -x264-params repeat-headers=1 -tag:v avc3 \
    "${COMMON[@]}" avc3.mp4

# 9. HEVC (x265) in an hvc1 sample entry, 320x180, 1 s.
"${FF[@]}" -f lavfi -i "$(src 320 180 25 1)" -an -c:v libx265 -crf 28 \
    -preset medium -pix_fmt yuv420p -x265-params log-level=error:pools=1 \
    -tag:v hvc1 "${COMMON[@]}" hevc.mp4

# 10. Audio only (no video track), AAC, 1 s.
"${FF[@]}" -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=1" \
    -c:a aac -b:a 64k "${COMMON[@]}" no_video.mp4

# 11-15. Timeline cases (frame times as ffmpeg gives them), 160x90, with B-frames:
#    fragmented without default_base_moof; fragmented with the first GOP in the moov;
#    fragmented with negative composition offsets (trun version 1); progressive without an
#    edit list; progressive with a leading empty edit.
X264_TINY=("${X264_COMMON[@]}" -profile:v main -bf 2)
"${FF[@]}" -f lavfi -i "$(src 160 90 24 4)" -an "${X264_TINY[@]}" -g 24 \
    -movflags frag_keyframe+empty_moov "${COMMON[@]}" frag_24fps.mp4
"${FF[@]}" -f lavfi -i "$(src 160 90 24 4)" -an "${X264_TINY[@]}" -g 24 \
    -movflags frag_keyframe "${COMMON[@]}" frag_moov_first.mp4
"${FF[@]}" -f lavfi -i "$(src 160 90 24 2)" -an "${X264_TINY[@]}" -g 12 \
    -movflags frag_keyframe+empty_moov+negative_cts_offsets "${COMMON[@]}" \
    frag_negative_cts.mp4
"${FF[@]}" -f lavfi -i "$(src 160 90 24 1)" -an "${X264_TINY[@]}" -g 12 \
    -use_editlist 0 "${COMMON[@]}" no_editlist.mp4
"${FF[@]}" -f lavfi -i "$(src 160 90 25 1)" -an "${X264_TINY[@]}" -g 12 \
    -output_ts_offset 0.5 "${COMMON[@]}" empty_edit.mp4

for f in baseline main high_bframes odd_size vfr audio_first fragmented \
         avc3 hevc; do
    python3 reference.py "$f.mp4" 8
done

# ffprobe's time and sample offset of every video frame (see README.md).
for f in *.mp4; do
    [[ "$f" == no_video.mp4 ]] && continue
    ffprobe -v error -select_streams v:0 \
        -show_entries frame=best_effort_timestamp_time,pkt_pos -of csv=p=0 "$f" \
        | grep -v '^$' | awk -F, '{print $1","$2}' > "${f%.mp4}.ffprobe_times.txt"
done

# ---- sanity checks on what was produced ----------------------------------
fail() { echo "make_fixtures.sh: check failed: $*" >&2; exit 1; }
probe() { # probe FILE ENTRIES [SELECT]
    ffprobe -v error ${3:+-select_streams "$3"} -show_entries "$2" \
        -of default=nw=1:nk=1 "$1"
}

[[ "$(probe audio_first.mp4 stream=codec_type 0)" == audio ]] \
    || fail "audio_first.mp4: stream 0 is not audio"
[[ "$(probe audio_first.mp4 stream=id 0)" == 0x1 ]] \
    || fail "audio_first.mp4: audio is not track id 1"
[[ "$(probe avc3.mp4 stream=codec_tag_string v:0)" == avc3 ]] \
    || fail "avc3.mp4: sample entry is not avc3"
# Extradata SPS + one in-band SPS per IDR (2 IDRs).
n_sps=$(ffmpeg -v info -nostdin -i avc3.mp4 -map 0:v -c copy \
        -bsf:v trace_headers -f null - 2>&1 \
        | grep -c '^\[trace_headers.*Sequence Parameter Set' || true)
(( n_sps >= 3 )) || fail "avc3.mp4: only $n_sps SPS (expected in-band SPS)"
[[ "$(probe hevc.mp4 stream=codec_tag_string v:0)" == hvc1 ]] \
    || fail "hevc.mp4: sample entry is not hvc1"
[[ -z "$(probe no_video.mp4 stream=index v)" ]] \
    || fail "no_video.mp4 has a video stream"
# VFR: the container's sample durations must really differ.
n_dur=$(probe vfr.mp4 packet=dts v:0 \
        | awk 'NR > 1 { print $1 - prev } { prev = $1 }' | sort -u | wc -l)
(( n_dur >= 3 )) || fail "vfr.mp4: only $n_dur distinct sample durations"
n_moof=$(grep -c -a -o moof fragmented.mp4 || true)
(( n_moof >= 2 )) || fail "fragmented.mp4: $n_moof moof boxes"
for f in *.mp4 *.json; do
    (( $(wc -c < "$f") < 1000000 )) || fail "$f is 1 MB or larger"
done
echo "fixtures OK"
