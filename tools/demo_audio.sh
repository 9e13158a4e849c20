#!/bin/bash
# Makes the demo's voices (dialer/voice/audio/*.ul: 8 kHz mu-law, headerless) with espeak-ng and sox.
# Run at development time; the files are committed so that nothing is synthesised or downloaded at run
# time:  tools/demo_audio.sh
set -euo pipefail
out="$(dirname "$0")/../dialer/voice/audio"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

say() {  # say NAME VOICE SPEED TEXT
  espeak-ng -v "$2" -s "$3" -w "$work/$1.wav" "$4"
  sox "$work/$1.wav" -r 8000 -c 1 "$work/$1.8k.wav" norm -3
}
ulaw() {  # ulaw NAME INPUT...
  sox "${@:2}" -r 8000 -c 1 -e mu-law -t raw "$out/$1.ul"
}

# People answering (the carrier's clients): a short greeting, then they wait.
say p1 ru+f3 160 "Алло?"
say p2 ru+m3 170 "Да, слушаю."
say p3 ru+f2 150 "Алло, здравствуйте."
say p4 ru 180 "Да, говорите."
for n in 1 2 3 4; do ulaw "person-$n" "$work/p$n.8k.wav"; done

# Machines: a voicemail greeting, then the beep.
sox -n -r 8000 -c 1 -b 16 "$work/beep.wav" synth 0.5 sine 1000 vol 0.5
say m1 ru+m7 170 "Здравствуйте, вы позвонили на номер Ивана. Сейчас я не могу ответить. Оставьте сообщение после сигнала."
say m2 ru+f3 170 "Абонент не может ответить. Оставьте, пожалуйста, сообщение после звукового сигнала."
ulaw machine-1 "$work/m1.8k.wav" "$work/beep.wav"
ulaw machine-2 "$work/m2.8k.wav" "$work/beep.wav"

# Virtual operators speaking to the client.
say o1 ru+f2 165 "Здравствуйте! Это компания Займы. Вы оставили заявку на сайте, мне нужно уточнить несколько данных."
say o2 ru+m3 165 "Добрый день! Звоню по вашей заявке на заём. Подскажите, пожалуйста, ваш адрес регистрации."
ulaw operator-1 "$work/o1.8k.wav"
ulaw operator-2 "$work/o2.8k.wav"
ls -l "$out"
