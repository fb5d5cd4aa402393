#!/usr/bin/env bash
# Makes web/media/test-clip.webm, the local stand-in for a live stream: 4 s of ffmpeg's test pattern
# with a running clock, 320×180, VP8 (every Chromium plays it), no audio, ~100 KB. Made once and
# committed; run again only to change it (needs ffmpeg: apt-get install ffmpeg).
set -euo pipefail
cd "$(dirname "$0")/.."
ffmpeg -y -loglevel error -f lavfi -i "testsrc2=size=320x180:rate=25:duration=4" \
    -c:v libvpx -b:v 160k -deadline good -an web/media/test-clip.webm
ls -l web/media/test-clip.webm
