#!/usr/bin/env bash
# Generates the media fixtures of test/media/fixtures/ and the demo clip
# assets/demo-clip.mp4 with ffmpeg (Debian's ffmpeg 5.1 was used for the
# committed files). The outputs are committed; run this only to regenerate
# them, then review and commit the binary diff together with the script.
#
#   bash scripts/make-media-fixtures.sh [OUT_DIR]   (default: test/media/fixtures)
#
# Every fixture is small (tens of KiB) and exercises one thing the importer
# and exporter must keep:
#   h264-aac.mp4    H.264 with B-frames (ctts, edit list shifting dts below 0) + AAC (priming edit)
#   vp9-opus.webm   VP9 + Opus: CodecDelay/pre-skip, end trimming (DiscardPadding), 7 ms start offsets
#   multi.mkv       H.264 + two audio tracks (AAC "eng", Opus "deu") + a SubRip subtitle track
#   vfr.mp4         variable frame rate H.264 (irregular frame durations in stts)
#   long-gop.mkv    H.264 with B-frames, 8 s, one keyframe every 120 frames (long GOPs)
#   text.mp4        H.264 + a timed-text (tx3g / mov_text) subtitle track
#   and assets/demo-clip.mp4, the demo's default input (H.264 + AAC, 4 s, < 1 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-test/media/fixtures}"
mkdir -p "$OUT" assets
command -v ffmpeg >/dev/null || { echo "make-media-fixtures: ffmpeg is required" >&2; exit 2; }

# -bitexact and fixed metadata keep the files free of version strings and dates.
FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)
BITEXACT=(-fflags +bitexact -flags:v +bitexact -flags:a +bitexact -map_metadata -1)
X264=(-c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p)

# 1. H.264 (2 B-frames) + AAC in MP4, 2 s.
"${FF[@]}" -f lavfi -i "testsrc2=size=192x108:rate=25:duration=2" -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=2" \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p -bf 2 -g 25 -x264-params "b-pyramid=0:scenecut=0" -crf 30 \
  -c:a aac -b:a 48k "${BITEXACT[@]}" "$OUT/h264-aac.mp4"

# 2. VP9 + Opus in WebM, 1.99 s of audio (the last Opus packet is trimmed).
"${FF[@]}" -f lavfi -i "testsrc=size=160x120:rate=30:duration=2" -f lavfi -i "sine=frequency=330:sample_rate=48000:duration=1.99" \
  -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 150k -g 30 -c:a libopus -b:a 32k "${BITEXACT[@]}" "$OUT/vp9-opus.webm"

# 3. Two audio tracks and a subtitle track in Matroska.
SRT="$(mktemp --suffix=.srt)"
trap 'rm -f "$SRT"' EXIT
printf '1\n00:00:00,000 --> 00:00:00,800\nFirst line\n\n2\n00:00:00,900 --> 00:00:01,700\nSecond line, <i>italic</i>\n\n' >"$SRT"
"${FF[@]}" -f lavfi -i "testsrc2=size=160x90:rate=24:duration=2" -f lavfi -i "sine=frequency=220:sample_rate=44100:duration=2" \
  -f lavfi -i "sine=frequency=660:sample_rate=48000:duration=1.95" -i "$SRT" \
  -map 0 -map 1 -map 2 -map 3 -c:v libx264 -preset veryfast -pix_fmt yuv420p -bf 2 -g 24 -crf 32 \
  -c:a:0 aac -b:a:0 40k -c:a:1 libopus -b:a:1 24k -c:s srt \
  -metadata:s:a:0 language=eng -metadata:s:a:1 language=deu -metadata:s:s:0 language=eng -metadata:s:a:1 title="Commentary" \
  "${BITEXACT[@]}" "$OUT/multi.mkv"

# 4. Variable frame rate: drop an irregular pattern of frames and keep the gaps.
"${FF[@]}" -f lavfi -i "testsrc2=size=160x90:rate=30:duration=3" \
  -vf "select='lt(mod(n\,7)\,3)+eq(mod(n\,11)\,0)'" -fps_mode vfr "${X264[@]}" -g 30 -crf 32 -video_track_timescale 30000 \
  "${BITEXACT[@]}" "$OUT/vfr.mp4"

# 5. Long GOP: 8 s at 30 fps with a keyframe every 120 frames, B-frames, in Matroska.
"${FF[@]}" -f lavfi -i "testsrc2=size=128x72:rate=30:duration=8" \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p -bf 3 -g 120 -keyint_min 120 -x264-params "scenecut=0" -crf 36 \
  "${BITEXACT[@]}" "$OUT/long-gop.mkv"

# 6. Timed text in MP4 (mov_text), from the same SubRip cues.
"${FF[@]}" -f lavfi -i "testsrc2=size=96x64:rate=25:duration=2" -i "$SRT" -map 0 -map 1 \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p -bf 2 -g 25 -crf 36 -c:s mov_text -metadata:s:s:0 language=eng \
  "${BITEXACT[@]}" "$OUT/text.mp4"

# The demo's embedded default clip: H.264 (B-frames) + AAC, 4 s, 320x180.
"${FF[@]}" -f lavfi -i "testsrc2=size=320x180:rate=25:duration=4" -f lavfi -i "sine=frequency=523:sample_rate=48000:duration=4" \
  -c:v libx264 -preset medium -pix_fmt yuv420p -bf 2 -g 50 -crf 30 -c:a aac -b:a 64k "${BITEXACT[@]}" \
  -metadata title="h4mk demo clip (ffmpeg testsrc2 + sine)" assets/demo-clip.mp4

ls -l "$OUT" assets/demo-clip.mp4
