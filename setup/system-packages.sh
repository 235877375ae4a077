#!/usr/bin/env bash
# Installs the Debian packages the app needs, when missing; with --tests, its tests' too.
# As root it runs apt-get; otherwise it prints the exact apt line to run.
set -euo pipefail
packages=(
  libportaudio2   # sounddevice fails at import without it
  espeak-ng       # speech clips made by the tests
  libpulse0       # QtMultimedia (the inline audio and video players) fails to load without it
  mosquitto       # the MQTT tests start a real broker
  # Qt's xcb platform plugin (the desktop window on X11): without them `make run` aborts with
  # "Could not load the Qt platform plugin xcb"
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libxcb-render-util0
  libxcb-image0 libxcb-shape0 libxcb-randr0
)
if [ "${1:-}" = "--tests" ]; then
  # a private PulseAudio server gives the speaker and microphone tests a real sound card loop
  # (tests/pulse_room.py). Not where PipeWire serves PulseAudio's clients: apt would swap the
  # desktop's sound server, and those tests skip without it.
  if ! dpkg-query -W -f='${Status}' pipewire-pulse 2>/dev/null | grep -q "install ok installed"; then
    packages+=(pulseaudio libasound2-plugins)
  fi
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing Debian packages. Run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
