#!/usr/bin/env bash
# Screenshots of the operator window for the README, at the commonest office screen and at full HD.
#   scripts/screenshots.sh [OUT_DIR]   (default docs/screenshots)
# Runs `python main.py --demo --lang zh_CN` on a virtual screen (Xvfb) of each size, the window filling
# the screen, and saves operator-WIDTHxHEIGHT.png, optimised with pngquant when it is installed.
# Needs (Debian): xvfb xdotool imagemagick fonts-noto-cjk libxcb-cursor0 libxkbcommon-x11-0 (pngquant optional).
set -eu
out=${1:-docs/screenshots}
mkdir -p "$out"
cd "$(dirname "$0")/.."
for size in 1366x768 1920x1080; do
  w=${size%x*}; h=${size#*x}
  disp=:$(( (RANDOM % 400) + 500 ))
  Xvfb "$disp" -screen 0 "${size}x24" >/dev/null 2>&1 &
  xpid=$!
  sleep 1
  home=$(mktemp -d)  # a fresh settings folder: the first-run layout, no remembered geometry
  DISPLAY=$disp QT_QPA_PLATFORM=xcb XDG_CONFIG_HOME=$home python main.py --demo --lang zh_CN >"$home/app.log" 2>&1 &
  apid=$!
  win=""
  for _ in $(seq 1 80); do
    win=$(DISPLAY=$disp xdotool search --onlyvisible --pid "$apid" 2>/dev/null | tail -1) || true
    [ -n "$win" ] && break
    sleep 0.5
  done
  if [ -z "$win" ]; then
    echo "no window at $size; the program said:" >&2; tail -20 "$home/app.log" >&2
    kill "$apid" "$xpid" 2>/dev/null || true; exit 1
  fi
  DISPLAY=$disp xdotool windowmove "$win" 0 0 windowsize "$win" "$w" "$h"  # no window manager: fill the screen
  sleep 6  # the demo's first reports arrive and the window settles
  DISPLAY=$disp xdotool mousemove --window "$win" 400 300 click 1  # the keyboard to the queue (no window manager)
  sleep 0.5
  DISPLAY=$disp xdotool key ctrl+4  # the overdue queue: its deadline marks are the widest cells
  sleep 1.5
  file="$out/operator-$size.png"
  DISPLAY=$disp import -window root "$file"
  if command -v pngquant >/dev/null; then pngquant --force --skip-if-larger --quality 60-85 --output "$file" "$file" || true; fi
  echo "saved $file ($(du -k "$file" | cut -f1) kB)"
  kill "$apid" 2>/dev/null || true; sleep 1; kill -9 "$apid" 2>/dev/null || true
  kill "$xpid" 2>/dev/null || true
  rm -rf "$home"
done
