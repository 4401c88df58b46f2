#!/usr/bin/env bash
# Makes the project's test clips from synthetic sources, byte-identical from run to run on one
# machine (fixed seeds, fixed encoder settings, one encoder thread):
#
#   live-1080p30-h264-aac-16s-gop2.ts  1920x1080 30 fps, 500 frames (16.67 s), x264 High with
#                                      2 B-frames, an IDR every 60 frames (2 s), AAC stereo 48 kHz
#   live-1080p30-h264-aac-16s.ts       the same picture, 500 frames, keyframes only at frames 0
#                                      and 250 (a long GOP), no frame rate in the SPS (no VUI
#                                      timing, like many cameras), AAC; starts at 0.1 s
#   landscape-720p30-h264-2s.ts        1280x720 30 fps, 53 frames (1.77 s), x264 Main with
#                                      B-frames, a keyframe every 25 frames (0.83 s), no audio
#   portrait-720x1280-h264-1s.ts       720x1280, 30 frames, no VUI timing, no audio, starting at
#                                      588 s (a stream joined mid-way)
#
# The picture: moving colour gradients, a zooming Mandelbrot window (fine detail), a small
# testsrc2 window (moving shapes, frame counter) and temporal grain, so that encoders and
# scalers work on motion and detail. The sound: a 440 Hz tone with a beep every second.
# Streams without VUI timing come from OpenH264 (x264 always writes it).
#
# Usage: make-media.sh [OUT_DIR]  (default: this directory). Does nothing when every clip is
# there and was made by this version of the script (the stamp holds the script's hash).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
clips=(live-1080p30-h264-aac-16s-gop2.ts live-1080p30-h264-aac-16s.ts landscape-720p30-h264-2s.ts
  portrait-720x1280-h264-1s.ts)
stamp="$out/.make-media.stamp"
version=$(sha256sum "$here/make-media.sh" | cut -d' ' -f1)

fresh=1
for c in "${clips[@]}"; do [ -s "$out/$c" ] || fresh=0; done
if ((fresh)) && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
for tool in ffmpeg gst-launch-1.0; do
  command -v "$tool" >/dev/null || {
    echo "make-media: $tool is missing (scripts/setup.sh installs it)" >&2
    exit 1
  }
done
gst-inspect-1.0 openh264enc >/dev/null 2>&1 || {
  echo "make-media: GStreamer's openh264enc is missing (gstreamer1.0-plugins-bad)" >&2
  exit 1
}
echo "make-media: making the test clips in $out (about a minute)" >&2
mkdir -p "$out"
tmp=$(mktemp -d "$out/.make-media.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The picture at W x H, 30 fps, as a lavfi graph ending in [v]. Every colour and the seed are
# given: gradients' default colours are "random", drawn when the option is parsed.
picture() {
  local w=$1 h=$2
  local gw=$((w / 4)) gh=$((h / 4)) mw=$((w / 3 / 2 * 2)) mh=$((h / 3 / 2 * 2))
  local tw=$((w / 4 / 2 * 2)) th=$((h / 4 / 2 * 2))
  local colours="c0=0x1f4e79:c1=0xf2a900:c2=0x2e8b57:c3=0xc0392b:c4=0x8e44ad:c5=0xd0d8dc"
  colours+=":c6=0x000000:c7=0x000000"
  printf '%s' \
    "gradients=s=${gw}x${gh}:r=30:n=6:${colours}:x0=0:y0=0:x1=${gw}:y1=${gh}:seed=1:speed=0.015," \
    "scale=${w}x${h}[bg];" \
    "mandelbrot=s=${mw}x${mh}:r=30:maxiter=200:start_scale=2.5:end_scale=0.05:end_pts=40[m];" \
    "testsrc2=s=${tw}x${th}:r=30[t];" \
    "[bg][m]overlay=x='(W-w)*(0.5+0.45*sin(2*PI*t/7))':y='(H-h)*0.2':eval=frame[a];" \
    "[a][t]overlay=x='(W-w)*0.1':y='(H-h)*(0.5+0.4*sin(2*PI*t/5))':eval=frame," \
    "noise=alls=8:allf=t:all_seed=4242,format=yuv420p[v]"
}
sound="sine=frequency=440:beep_factor=4:sample_rate=48000:duration=16.6"
ff=(ffmpeg -nostdin -hide_banner -v error -y -filter_threads 1)
x264=(-c:v libx264 -threads 1 -preset superfast -sc_threshold 0 -flags:v +bitexact)
aac=(-c:a aac -b:a 128k -ac 2 -flags:a +bitexact)
raw=(-f rawvideo -pix_fmt yuv420p -)

# OpenH264 (no VUI timing): raw pictures on stdin -> Annex B file. The library logs a
# cmInitParaError when the element is created, before it is configured: that line is dropped.
openh264() {  # w h gop bitrate out.h264
  gst-launch-1.0 -q fdsrc fd=0 ! rawvideoparse format=i420 width="$1" height="$2" \
    framerate=30/1 ! openh264enc gop-size="$3" bitrate="$4" rate-control=bitrate \
    enable-frame-skip=false scene-change-detection=false multi-thread=1 complexity=medium ! \
    video/x-h264,stream-format=byte-stream,alignment=au ! filesink location="$5" \
    2> >(grep -v 'cmInitParaError' >&2)
}

# 1080p, made once for both clips. gop2: an IDR every 2 s, B-frames, audio no longer than the
# video (500 frames = 16.667 s). The raw pictures also go to OpenH264 for the long-GOP clip.
"${ff[@]}" -filter_complex "$(picture 1920 1080);[v]split[v1][v2]" -f lavfi -i "$sound" \
  -map '[v1]' -map 0:a -frames:v 500 "${x264[@]}" -profile:v high -bf 2 -g 60 \
  -keyint_min 60 -b:v 5000k -maxrate 6000k -bufsize 6000k "${aac[@]}" -f mpegts \
  "$tmp/live-1080p30-h264-aac-16s-gop2.ts" \
  -map '[v2]' -frames:v 500 "${raw[@]}" | openh264 1920 1080 250 2000000 "$tmp/long.h264"
# Long GOP: keyframes at frames 0 and 250 only. A small mux delay (PCR before PTS): with none,
# GStreamer's tsdemux timestamps the stream so that lpsegmenter's audio and video never both
# have data, and every pipeline on the clip deadlocked.
"${ff[@]}" -r 30 -f h264 -i "$tmp/long.h264" -f lavfi -i "$sound" -c:v copy \
  "${aac[@]}" -muxdelay 0.05 -output_ts_offset 0 -f mpegts "$tmp/live-1080p30-h264-aac-16s.ts"

# Landscape 720p, video only, keyframes at 0 and 25 (0.83 s apart: one segment at 2 s).
"${ff[@]}" -filter_complex "$(picture 1280 720)" -map '[v]' -frames:v 53 "${x264[@]}" \
  -profile:v main -bf 1 -g 25 -keyint_min 25 -b:v 1500k -maxrate 2000k -bufsize 2000k \
  -color_range tv -colorspace bt709 -color_primaries bt709 -color_trc bt709 -f mpegts \
  "$tmp/landscape-720p30-h264-2s.ts"

# Portrait, video only, no VUI timing, PTS starting at 588 s.
"${ff[@]}" -filter_complex "$(picture 720 1280)" -map '[v]' -frames:v 30 "${raw[@]}" |
  openh264 720 1280 30 2000000 "$tmp/portrait.h264"
"${ff[@]}" -r 30 -f h264 -i "$tmp/portrait.h264" -c:v copy -muxdelay 0 \
  -output_ts_offset 588 -f mpegts "$tmp/portrait-720x1280-h264-1s.ts"

for c in "${clips[@]}"; do mv -f "$tmp/$c" "$out/$c"; done
echo "$version" >"$stamp"
