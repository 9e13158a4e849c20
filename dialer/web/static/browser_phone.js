// The browser phone: this page as the operator's phone (WebRTC audio to the dialer).
// - "Connect" asks for the microphone, offers the audio to the server (POST /work/phone with the
//   form token; ICE candidates gathered first, no trickle) and plays what comes back;
// - the meters show the microphone's level and the line's (the line's loudest frequency is kept in
//   data-hz: a test reads it); round trip and loss come from the connection's stats every 2 s;
// - a lost connection (a network change) opens a new session by itself; the server pauses the
//   operator meanwhile; the choice is remembered, so a reload connects again.
"use strict";
(() => {
  const panel = document.getElementById("phone");
  if (!panel || !window.RTCPeerConnection) return;
  const $ = (id) => document.getElementById(id);
  const text = (key) => panel.getAttribute(`data-t-${key}`) || key;
  const iceServers = JSON.parse(panel.getAttribute("data-ice") || "[]");
  let pc = null;
  let stream = null;
  let wanted = false;
  let audio = null;
  let statsTimer = null;

  function problem(message) {
    const box = $("phone-problem");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function setState(key) {
    $("phone-state").textContent = text(key);
    panel.setAttribute("data-line", key);
  }

  function meter(source, element, withPitch) {
    const analyser = audio.createAnalyser();
    analyser.fftSize = 2048;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const spectrum = new Float32Array(analyser.frequencyBinCount);
    const draw = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      element.value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
      if (withPitch) {
        analyser.getFloatFrequencyData(spectrum);
        let best = 0;
        for (let i = 1; i < spectrum.length; i++) if (spectrum[i] > spectrum[best]) best = i;
        if (element.value > 0.02) element.setAttribute("data-hz", String(Math.round((best * audio.sampleRate) / analyser.fftSize)));
      }
      if (pc || withPitch === false) requestAnimationFrame(draw);
    };
    draw();
  }

  async function devices() {
    const select = $("phone-mic");
    const chosen = select.value;
    for (const device of await navigator.mediaDevices.enumerateDevices()) {
      if (device.kind !== "audioinput" || select.querySelector(`option[value="${CSS.escape(device.deviceId)}"]`)) continue;
      const option = new Option(device.label || device.deviceId.slice(0, 8), device.deviceId);
      select.append(option);
    }
    select.value = chosen;
  }

  async function microphone() {
    if (stream) return stream;
    const deviceId = $("phone-mic").value;
    const audioWanted = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (deviceId) audioWanted.deviceId = { exact: deviceId };
    stream = await navigator.mediaDevices.getUserMedia({ audio: audioWanted });
    audio = audio || new AudioContext();
    meter(audio.createMediaStreamSource(stream), $("phone-level"), false);
    await devices();
    return stream;
  }

  function gathered(connection) {
    if (connection.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => connection.iceGatheringState === "complete" && resolve();
      connection.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 3000); // a slow STUN server: go with what was gathered
    });
  }

  async function connect() {
    problem("");
    wanted = true;
    localStorage.setItem("browserPhone", "1");
    setState("connecting");
    let media;
    try {
      media = await microphone();
    } catch (error) {
      setState("off");
      problem(`${text("denied")} (${error.name})`);
      return;
    }
    if (pc) pc.close();
    const connection = new RTCPeerConnection({ iceServers });
    pc = connection;
    for (const track of media.getTracks()) connection.addTrack(track, media);
    connection.addEventListener("track", (event) => {
      const player = $("phone-audio");
      player.srcObject = event.streams[0] || new MediaStream([event.track]);
      player.play().catch(() => {});
      audio = audio || new AudioContext();
      meter(audio.createMediaStreamSource(player.srcObject), $("phone-heard"), true);
    });
    connection.addEventListener("connectionstatechange", () => {
      if (pc !== connection) return;
      const state = connection.connectionState;
      if (state === "connected") setState("connected");
      if (state === "failed" || state === "disconnected" || state === "closed") {
        setState(wanted ? "lost" : "off");
        if (wanted && state !== "closed") setTimeout(() => pc === connection && connect(), 2000);
      }
    });
    await connection.setLocalDescription(await connection.createOffer());
    await gathered(connection);
    const body = new FormData();
    body.append("csrf", panel.getAttribute("data-csrf"));
    body.append("sdp", connection.localDescription.sdp);
    try {
      const response = await fetch("/work/phone", { method: "POST", body, headers: { Accept: "application/json" } });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.error || response.statusText);
      await connection.setRemoteDescription(answer);
    } catch (error) {
      setState("off");
      problem(String(error.message || error));
      if (wanted) setTimeout(() => pc === connection && connect(), 5000);
      return;
    }
    clearInterval(statsTimer);
    statsTimer = setInterval(() => stats(connection), 2000);
  }

  async function stats(connection) {
    if (pc !== connection) return;
    const report = await connection.getStats();
    let rtt = null;
    let lost = 0;
    let received = 0;
    report.forEach((entry) => {
      if (entry.type === "candidate-pair" && entry.nominated && entry.currentRoundTripTime !== undefined) {
        rtt = entry.currentRoundTripTime;
      }
      if (entry.type === "inbound-rtp" && entry.kind === "audio") {
        lost += entry.packetsLost || 0;
        received += entry.packetsReceived || 0;
      }
    });
    $("phone-rtt").textContent = rtt === null ? "—" : `${Math.round(rtt * 1000)} ms`;
    $("phone-loss").textContent = received + lost ? `${((100 * lost) / (received + lost)).toFixed(1)} %` : "—";
  }

  function disconnect() {
    wanted = false;
    localStorage.removeItem("browserPhone");
    if (pc) pc.close();
    pc = null;
    clearInterval(statsTimer);
    setState("off");
  }

  async function echo() {
    const button = $("phone-echo");
    const on = button.getAttribute("aria-pressed") !== "true";
    const body = new FormData();
    body.append("csrf", panel.getAttribute("data-csrf"));
    body.append("on", on ? "1" : "0");
    const response = await fetch("/work/phone/echo", { method: "POST", body, headers: { Accept: "application/json" } });
    const answer = await response.json();
    if (!response.ok) {
      problem(answer.error || response.statusText);
      return;
    }
    problem("");
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }

  $("phone-connect").addEventListener("click", connect);
  $("phone-hangup").addEventListener("click", disconnect);
  $("phone-echo").addEventListener("click", echo);
  $("phone-mic").addEventListener("change", () => {
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    if (wanted) connect();
  });
  window.addEventListener("online", () => wanted && pc && pc.connectionState !== "connected" && connect());
  if (localStorage.getItem("browserPhone") === "1") connect();
})();
