// HomeCall demo: a call of two people through /signal (docs/signal.md).
//
// Both sides join the room named by the word. One that finds no offer
// waiting sends one: the room queues it until the other joins, and that
// one answers. If both offer at once, the side with the smaller name
// gives way (it drops its offer and answers). Hang-ups travel over a data
// channel, so the one who stays waits for the next person.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("status"), lobby: $("lobby"), call: $("call"), form: $("join-form"),
    room: $("room"), link: $("link"), copy: $("copy"), newWord: $("new-word"),
    remote: $("remote"), local: $("local"), waiting: $("waiting"), share: $("share"),
    mic: $("mic"), cam: $("cam"), hangup: $("hangup"), details: $("details"),
  };
  const relayOnly = new URLSearchParams(location.search).has("relay");
  const OFFER_WAIT_MS = 600;    // how long a joiner waits for a queued offer
  const ADJECTIVES = ["amber", "brave", "calm", "clever", "cosy", "eager", "gentle",
    "golden", "happy", "lucky", "merry", "quiet", "rapid", "silver", "sunny", "swift"];
  const NOUNS = ["badger", "comet", "falcon", "harbor", "lantern", "maple", "meadow",
    "otter", "pebble", "river", "robin", "summit", "thistle", "tiger", "valley", "willow"];

  const pick = (list, n) => list[n % list.length];
  function newWord() {
    const r = crypto.getRandomValues(new Uint32Array(3));
    return pick(ADJECTIVES, r[0]) + "-" + pick(NOUNS, r[1]) + "-" + (10 + r[2] % 90);
  }
  const me = "guest-" + Array.from(crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0")).join("");

  // What the page is doing, for the person and for tests
  const demo = window.demo = {me, state: "idle", pc: null, peer: null, iceServers: null,
    stream: null, ws: null, room: null, errors: []};

  // What the server's Content-Security-Policy refused, for tests to see
  document.addEventListener("securitypolicyviolation", (e) =>
    demo.errors.push({message: "CSP refused " + e.blockedURI + " (" + e.violatedDirective + ")"}));

  function setStatus(state, text) {
    demo.state = state;
    ui.status.dataset.state = state;
    ui.status.textContent = text;
  }

  // ---- Lobby: the room word comes from the link's #fragment or is made up
  function shareLink(word) {
    return location.origin + location.pathname + location.search + "#" +
      encodeURIComponent(word);
  }
  function updateLink() { ui.link.value = shareLink(ui.room.value.trim()); }
  ui.room.value = decodeURIComponent(location.hash.slice(1)).trim() || newWord();
  updateLink();
  ui.room.addEventListener("input", updateLink);
  ui.newWord.addEventListener("click", () => { ui.room.value = newWord(); updateLink(); });
  ui.copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(ui.link.value);
      ui.copy.textContent = "Copied";
    } catch (e) {
      ui.link.select();         // not a secure context: let them copy it
    }
    setTimeout(() => { ui.copy.textContent = "Copy"; }, 1500);
  });

  // ---- Signaling over /signal
  function send(frame) {
    if (demo.ws && demo.ws.readyState === WebSocket.OPEN)
      demo.ws.send(JSON.stringify(Object.assign({room: demo.room, from: me}, frame)));
  }

  // The server's STUN and TURN servers; an older server never answers
  function askIceServers(ws) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve([]), 3000);
      ws.addEventListener("message", function onMessage(e) {
        const frame = JSON.parse(e.data);
        if (frame.type !== "ice-servers") return;
        ws.removeEventListener("message", onMessage);
        clearTimeout(timer);
        resolve(frame.iceServers || []);
      });
      ws.send(JSON.stringify({type: "ice-servers"}));
    });
  }

  function connectSignal() {
    const ws = demo.ws = new WebSocket(
      (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/signal");
    setStatus("connecting", "Connecting to the server\u2026");
    ws.onopen = async () => {
      demo.iceServers = await askIceServers(ws);
      // One frame at a time, each after the one before has been applied
      let done = Promise.resolve();
      ws.onmessage = (e) => {
        const frame = JSON.parse(e.data);
        done = done.then(() => onSignal(frame));
      };
      send({type: "join", user: me});
      if (connected()) setStatus("connected", "Connected");   // back after a loss
      else {
        setStatus("waiting", "Waiting for the other person");
        setTimeout(() => {
          if (!demo.pc && demo.ws === ws) startOffer().catch(note);
        }, OFFER_WAIT_MS);
      }
    };
    ws.onclose = () => {
      if (demo.ws !== ws) return;          // hung up, or replaced
      setStatus("failed", "Server connection lost; retrying\u2026");
      setTimeout(() => { if (demo.ws === ws) connectSignal(); }, 2000);
    };
  }

  async function onSignal(frame) {
    try {
      if (frame.type === "offer") await onOffer(frame);
      else if (frame.type === "answer") await onAnswer(frame);
      else if (frame.type === "candidate") await onCandidate(frame);
      else if (frame.type === "error") {
        demo.errors.push(frame);
        ui.details.textContent = "Server: " + frame.message;
      }
    } catch (e) {
      note(e);
    }
  }

  function note(e) {
    demo.errors.push({message: String(e)});
    console.warn(e);
  }

  const connected = () => demo.pc && demo.pc.connectionState === "connected";

  async function onOffer(frame) {
    if (demo.peer && frame.from !== demo.peer && connected()) return;   // a call of two
    const pc = demo.pc;
    if (pc && frame.from === demo.peer && frame.sdp === demo.lastOffer) return;  // resent
    const collision = pc && (demo.makingOffer || pc.signalingState !== "stable");
    if (collision && me > frame.from) {
      // We keep our offer. One already sent may have been queued long ago
      // and never reached them, so say it again, to them.
      demo.peer = frame.from;
      if (demo.makingOffer) return;        // it is about to go out
      send({type: "offer", to: frame.from, sdp: pc.localDescription.sdp});
      for (const c of demo.sent) send({type: "candidate", to: frame.from, candidate: c});
      return;
    }
    if (!pc || collision || frame.from !== demo.peer) newPeer();
    demo.peer = frame.from;
    demo.lastOffer = frame.sdp;
    await demo.pc.setRemoteDescription({type: "offer", sdp: frame.sdp});
    addMedia(demo.pc, false);
    await demo.pc.setLocalDescription(await demo.pc.createAnswer());
    send({type: "answer", to: frame.from, sdp: demo.pc.localDescription.sdp});
    await flushCandidates();
  }

  async function onAnswer(frame) {
    if (!demo.pc || demo.pc.signalingState !== "have-local-offer") return;
    demo.peer = frame.from;
    await demo.pc.setRemoteDescription({type: "answer", sdp: frame.sdp});
    await flushCandidates();
  }

  async function onCandidate(frame) {
    if (!demo.pc || (demo.peer && frame.from !== demo.peer)) return;
    if (!demo.pc.remoteDescription) demo.pending.push(frame.candidate);
    else await demo.pc.addIceCandidate(frame.candidate).catch(() => {});  // an old offer's
  }

  async function flushCandidates() {
    for (const c of demo.pending.splice(0))
      await demo.pc.addIceCandidate(c).catch(() => {});
  }

  // ---- The peer connection
  function newPeer() {
    closePeer();
    const pc = demo.pc = new RTCPeerConnection({iceServers: demo.iceServers || [],
      iceTransportPolicy: relayOnly ? "relay" : "all"});
    demo.pending = [];
    demo.sent = [];
    demo.lastOffer = null;
    demo.makingOffer = false;
    // Both sides make the same channel, so neither waits for the other's
    demo.control = pc.createDataChannel("control", {negotiated: true, id: 0});
    demo.control.onmessage = (e) => { if (e.data === "bye" && demo.pc === pc) peerLeft(); };
    // A bye lost with a closing connection: the channel closes all the same
    demo.control.onclose = () => { if (demo.pc === pc) peerLeft(); };
    pc.onicecandidate = (e) => {
      if (!e.candidate || demo.pc !== pc) return;
      const c = e.candidate.toJSON();
      demo.sent.push(c);
      send(Object.assign({type: "candidate", candidate: c}, demo.peer ? {to: demo.peer} : {}));
    };
    pc.ontrack = (e) => {
      if (ui.remote.srcObject !== e.streams[0]) ui.remote.srcObject = e.streams[0];
    };
    pc.onconnectionstatechange = () => {
      if (demo.pc !== pc) return;
      const state = pc.connectionState;
      const text = {connecting: "Connecting\u2026", connected: "Connected",
        disconnected: "Connection interrupted\u2026", failed: "Connection failed"}[state];
      if (text) setStatus(state, text);
      ui.waiting.classList.toggle("hidden", state === "connected");
      if (state === "connected") describeRoute(pc);
      if (state === "failed") peerLeft();
    };
    return pc;
  }

  function addMedia(pc, offering) {
    if (demo.stream) {
      for (const track of demo.stream.getTracks()) pc.addTrack(track, demo.stream);
    } else if (offering) {
      pc.addTransceiver("audio", {direction: "recvonly"});
      pc.addTransceiver("video", {direction: "recvonly"});
    }
  }

  async function startOffer() {
    const pc = newPeer();
    addMedia(pc, true);
    demo.makingOffer = true;
    try {
      await pc.setLocalDescription(await pc.createOffer());
    } catch (e) {
      if (demo.pc === pc) throw e;      // else it was replaced, and closed
    } finally {
      if (demo.pc === pc) demo.makingOffer = false;
    }
    // An offer that came meanwhile may have replaced this connection
    if (demo.pc === pc) send({type: "offer", sdp: pc.localDescription.sdp});
  }

  function closePeer() {
    if (!demo.pc) return;
    demo.pc.close();
    demo.pc = null;
    ui.remote.srcObject = null;
  }

  // The other side hung up or vanished: wait for the next one
  function peerLeft() {
    closePeer();
    demo.peer = null;
    ui.waiting.classList.remove("hidden");
    ui.details.textContent = "The other person left.";
    setStatus("waiting", "Waiting for the other person");
    startOffer().catch(note);
  }

  // Which way the media goes: directly, or through the TURN server
  async function describeRoute(pc) {
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === "transport" && s.selectedCandidatePairId)
        pair = stats.get(s.selectedCandidatePairId);
    });
    const local = pair && stats.get(pair.localCandidateId);
    demo.route = local ? local.candidateType : null;
    const how = demo.route === "relay" ? "through the TURN relay"
      : demo.route ? "directly (" + demo.route + ")" : "";
    ui.details.textContent = "Room " + demo.room + (how ? " \u00b7 media " + how : "");
  }

  // ---- Joining and hanging up
  async function getMedia() {
    if (!navigator.mediaDevices) {
      ui.details.textContent = "Browsers give a camera only to https:// and localhost " +
        "pages; joining without one.";
      return null;
    }
    const video = {width: {ideal: 640}, height: {ideal: 360}};
    for (const constraints of [{video, audio: true}, {audio: true}]) {
      try {
        return await navigator.mediaDevices.getUserMedia(constraints);
      } catch (e) {
        ui.details.textContent = "No camera or microphone (" + e.name + "); joining anyway.";
      }
    }
    return null;
  }

  ui.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const word = ui.room.value.trim();
    if (!word) return;
    demo.room = word;
    history.replaceState(null, "", "#" + encodeURIComponent(word));
    ui.share.textContent = shareLink(word);
    ui.lobby.classList.add("hidden");
    ui.call.classList.remove("hidden");
    ui.waiting.classList.remove("hidden");
    ui.details.textContent = "Room " + word;
    setStatus("media", "Starting camera\u2026");
    demo.stream = await getMedia();
    ui.local.srcObject = demo.stream;
    connectSignal();
  });

  function toggle(button, kind, on, off) {
    button.addEventListener("click", () => {
      const tracks = demo.stream ? demo.stream.getTracks().filter((t) => t.kind === kind) : [];
      for (const t of tracks) t.enabled = !t.enabled;
      const enabled = tracks.length > 0 && tracks[0].enabled;
      button.classList.toggle("off", !enabled);
      button.textContent = enabled ? on : off;
    });
  }
  toggle(ui.mic, "audio", "Mic", "Mic off");
  toggle(ui.cam, "video", "Camera", "Camera off");

  ui.hangup.addEventListener("click", () => {
    if (demo.control && demo.control.readyState === "open") demo.control.send("bye");
    send({type: "leave"});
    const ws = demo.ws;
    demo.ws = null;
    if (ws) ws.close(1000);
    const pc = demo.pc;
    demo.pc = null;             // closed once the bye is out
    if (pc) setTimeout(() => pc.close(), 500);
    ui.remote.srcObject = null;
    demo.peer = null;
    if (demo.stream) for (const t of demo.stream.getTracks()) t.stop();
    demo.stream = null;
    ui.local.srcObject = null;
    ui.call.classList.add("hidden");
    ui.lobby.classList.remove("hidden");
    setStatus("closed", "Call ended");
  });
})();
