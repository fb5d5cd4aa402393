// The viewer's side of ivs-chat-events: connect to the chat room, start the player when the
// broadcast goes live (STREAM_STARTED), stop it when it ends (STREAM_ENDED), and show a "join"
// toast to the one user a multihost invite (StreamCat:MultihostInvite) is addressed to.
// Plain browser JavaScript, no build step. Settings come from config.js (window.IVS_CHAT_EVENTS_CONFIG).
"use strict";

const config = window.IVS_CHAT_EVENTS_CONFIG;
const $ = (id) => document.getElementById(id);

// What the page knows; window.viewer lets the tests (and you, in the console) look at it.
const viewer = {
  userId: null,          // our chat user id: the JWT's identity claim, or guest-… for a guest
  signedIn: false,
  connected: false,
  connects: 0,           // WebSocket connections opened (each with a fresh token)
  received: 0,           // chat EVENT frames received
  live: false,
  playStarts: 0,         // times the player was started
  duplicates: 0,         // stream events seen before (EventBridge delivers at least once)
  stale: 0,              // stream events older than the state already acted on
  invitesShown: 0,
  startsFromState: 0,    // times the player started from /channel/state (opened or reconnected mid-broadcast)
  joined: false,
};
window.viewer = viewer;

let localIdToken = null;      // make viewer's sign-in: the JWT it signed for ?user= (never shown)
let lastStreamEventTime = -Infinity;
const seenStreamEvents = new Set();

// ---- Identity -------------------------------------------------------------------------------

async function signIn() {
  const user = new URLSearchParams(location.search).get("user");
  if (config.localSignIn && user) {
    // make viewer: the local gateway stands in for your sign-in (Cognito) and signs a JWT for `user`.
    const response = await fetch("/local/sign-in", { method: "POST", body: JSON.stringify({ userId: user }) });
    if (!response.ok) throw new Error(`sign-in: HTTP ${response.status}`);
    localIdToken = (await response.json()).idToken;
  }
  viewer.signedIn = Boolean(idToken());
}

// The JWT for the next call: read each time, so a token your sign-in refreshes is picked up.
function idToken() {
  if (localIdToken) return localIdToken;
  return typeof config.idToken === "function" ? config.idToken() : null;
}

async function callAPI(path, body) {
  const headers = { "content-type": "application/json" };
  const jwt = idToken();
  if (jwt) headers.authorization = `Bearer ${jwt}`;
  const response = await fetch(config.apiBaseUrl + path, { method: "POST", headers, body: JSON.stringify(body || {}) });
  const answer = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(`${path}: HTTP ${response.status} ${answer.message || ""}`);
    error.status = response.status;
    throw error;
  }
  return answer;
}

// A fresh chat token for this channel's room: a token connects once, so every (re)connection asks.
// Signed in: userId is our identity claim, so invites addressed to us are recognised. Guest: a
// receive-only token under a random guest id.
function fetchChatToken() {
  return callAPI(viewer.signedIn ? "/chat/token" : "/chat/guest-token", { channelArn: config.channelArn });
}

// ---- Chat connection ------------------------------------------------------------------------

let retryDelay = 500;

async function connect() {
  let chat;
  try {
    chat = await fetchChatToken();
  } catch (error) {
    if (error.status === 403) {
      // Not allowed (e.g. guests are off in this deployment): asking again will not change that.
      return showConnection(`no chat token: ${error.message}`);
    }
    showConnection(`no chat token (${error.message}); retrying`);
    return reconnectLater();
  }
  viewer.userId = chat.userId;
  if (viewer.signedIn || !$("identity").textContent) {
    $("identity").textContent = viewer.signedIn ? `signed in as ${chat.userId}` : "guest";
  }

  // The same with the IVS Chat Messaging SDK (npm amazon-ivs-chat-messaging):
  //   const room = new ChatRoom({ regionOrUrl: config.region, tokenProvider: async () => {
  //     const t = await fetchChatToken();
  //     return { token: t.token, sessionExpirationTime: new Date(t.sessionExpirationTime),
  //              tokenExpirationTime: new Date(t.tokenExpirationTime) };
  //   } });
  //   room.addListener("event", (e) => onChatEvent(e.eventName, e.attributes || {}));
  //   room.addListener("disconnect", () => room.connect());
  //   room.connect();
  const endpoint = config.chatEndpoint || `wss://edge.ivschat.${config.region}.amazonaws.com`;
  const socket = new WebSocket(endpoint, chat.token);   // the token travels as the subprotocol
  socket.onopen = () => {
    viewer.connected = true;
    viewer.connects += 1;
    retryDelay = 500;
    showConnection("connected to chat");
    // Events sent before this connection never reach it: ask whether the channel is live now.
    syncChannelState();
  };
  socket.onmessage = (message) => {
    let frame;
    try { frame = JSON.parse(message.data); } catch { return; }
    // {"Type":"EVENT","Id":…,"RequestId":…,"EventName":…,"Attributes":{…},"SendTime":…}
    if (frame.Type === "EVENT") onChatEvent(frame.EventName, frame.Attributes || {});
  };
  socket.onclose = () => {
    // Session over, network gone, or the token refused: reconnect with a new token.
    viewer.connected = false;
    showConnection("chat disconnected; reconnecting");
    reconnectLater();
  };
}

function reconnectLater() {
  setTimeout(connect, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 15000);
}

function showConnection(text) { $("connection").textContent = text; }

// ---- Events -------------------------------------------------------------------------------

function onChatEvent(name, attributes) {
  viewer.received += 1;
  switch (name) {
    case "STREAM_STARTED":
    case "STREAM_ENDED":
      return onStreamEvent(name, attributes);
    case "StreamCat:MultihostInvite":
      return onInvite(attributes);
    default:
      return logEvent(name, "");
  }
}

// attributes.event is the EventBridge event as JSON (reduced to its key fields when over 1 KB).
function onStreamEvent(name, attributes) {
  let event;
  try { event = JSON.parse(attributes.event); } catch { return logEvent(name, "no event attribute", true); }
  if (config.channelArn && !(event.resources || []).includes(config.channelArn)) {
    return logEvent(name, "another channel", true);
  }
  // EventBridge delivers at least once and in no guaranteed order: act on each event once, and
  // never on one older than the state shown.
  if (event.id && seenStreamEvents.has(event.id)) {
    viewer.duplicates += 1;
    return logEvent(name, `${event.id}: seen before, ignored`, true);
  }
  if (event.id) seenStreamEvents.add(event.id);
  const time = Date.parse(event.time);
  if (Number.isFinite(time)) {
    if (time < lastStreamEventTime) {
      viewer.stale += 1;
      return logEvent(name, `${event.id}: older than the current state, ignored`, true);
    }
    lastStreamEventTime = time;
  }
  logEvent(name, `${event.detail?.channel_name || ""} at ${event.time}`);
  if (name === "STREAM_STARTED") startPlayer(); else stopPlayer();
}

// The page opened (or reconnected) mid-broadcast: POST /channel/state says whether the channel is
// live, and since when. That start time is ordered against the events acted on, like an event's
// time. Only "live" is acted on: the answer may be a few seconds old, and a STREAM_ENDED will come.
async function syncChannelState() {
  if (!config.channelArn) return;
  let state;
  try { state = await callAPI("/channel/state", { channelArn: config.channelArn }); } catch { return; }
  const time = Date.parse(state.startTime);
  if (!state.live || !Number.isFinite(time) || time < lastStreamEventTime) return;
  lastStreamEventTime = time;
  if (!viewer.live) {
    viewer.startsFromState += 1;
    logEvent("channel state", `live since ${state.startTime}`);
    startPlayer();
  }
}

// ---- Player -------------------------------------------------------------------------------

const video = $("player");
let ivsPlayer = null;

function startPlayer() {
  if (viewer.live) return;
  viewer.live = true;
  viewer.playStarts += 1;
  if (config.player === "ivs") {
    // On AWS: the IVS player with the channel's playback URL.
    loadIVSPlayer().then(() => {
      if (!viewer.live) return;   // it ended while the player loaded
      ivsPlayer = ivsPlayer || window.IVSPlayer.create();
      ivsPlayer.attachHTMLVideoElement(video);
      ivsPlayer.load(config.playbackUrl);
      ivsPlayer.play();
    }).catch(() => logEvent("player", "the IVS player could not be loaded", true));
  } else {
    // Locally: a short test clip stands in for the stream.
    video.src = config.playbackUrl;
    video.loop = true;
    video.play().catch((error) => logEvent("player", `cannot play: ${error.message}`, true));
  }
  showLive(true);
}

function stopPlayer() {
  if (!viewer.live) return;
  viewer.live = false;
  if (ivsPlayer) ivsPlayer.pause(); else video.pause();
  showLive(false);
}

function loadIVSPlayer() {
  if (window.IVSPlayer) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "https://player.live-video.net/1.44.0/amazon-ivs-player.min.js";
    script.onload = resolve;
    script.onerror = reject;
    document.head.appendChild(script);
  });
}

function showLive(live) {
  const status = $("status");
  status.textContent = live ? "live" : "offline";
  status.className = `badge ${live ? "live" : "offline"}`;
  $("offline").hidden = live;
}

// ---- Multihost invites --------------------------------------------------------------------

let invite = null;

function onInvite(attributes) {
  // Every viewer in the room receives every invite: only the invitee reacts. User ids are
  // strings on the wire; compare them as strings.
  if (!viewer.signedIn || String(attributes.userId) !== String(viewer.userId)) {
    return logEvent("StreamCat:MultihostInvite", "for someone else", true);
  }
  invite = attributes;
  viewer.invitesShown += 1;
  logEvent("StreamCat:MultihostInvite", `for you: stage ${attributes.stage}`);
  $("toast-text").textContent = `You are invited to join the stage "${attributes.stage}" (until ${attributes.expiresAt}).`;
  $("join-result").textContent = "";
  $("join").disabled = false;
  $("toast").hidden = false;
}

$("join").onclick = async () => {
  $("join").disabled = true;
  try {
    // Only the invitee can fetch the participant token: the function checks the caller's JWT.
    const { token, participantId, expirationTime } = await callAPI("/multihost/join", { stageArn: invite.stageArn });
    // Hand `token` to the IVS real-time (Web Broadcast) SDK: new IVSBroadcastClient.Stage(token, strategy).
    // It is never shown or logged.
    viewer.joined = Boolean(token);
    $("join-result").textContent = `Joined: participant token received for participant ${participantId} (valid until ${expirationTime}).`;
  } catch (error) {
    $("join-result").textContent = `Could not join: ${error.message}`;
    $("join").disabled = false;
  }
};

$("dismiss").onclick = () => { $("toast").hidden = true; };

// ---- Log ------------------------------------------------------------------------------------

function logEvent(name, detail, ignored = false) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${name}${detail ? ` — ${detail}` : ""}`;
  if (ignored) item.className = "ignored";
  $("events").prepend(item);
}

// ---- Start ----------------------------------------------------------------------------------

showLive(false);
signIn()
  .catch((error) => { $("identity").textContent = `sign-in failed (${error.message}): continuing as a guest`; })
  .then(connect);
